#!/bin/sh
# A no-op agent that writes a file of its own (out/<task>.txt), so the branches of a run merge
# without conflicts: the merge benchmark's input. Prints a minimal Claude Code stream.
# `auth status` (orch asks it once before a run) is answered at once, as Claude Code does.
if [ "$1" = auth ]; then printf '{"loggedIn": true, "authMethod": "api_key"}\n'; exit 0; fi
cat > /dev/null
printf '{"type":"system","subtype":"init","session_id":"bench-%s"}\n' "$ORCH_TASK_ID"
mkdir -p out
printf 'done by %s\n' "$ORCH_TASK_ID" > "out/$ORCH_TASK_ID.txt"
printf '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"total_cost_usd":0,"session_id":"bench-%s","result":"ok","permission_denials":[]}\n' "$ORCH_TASK_ID"
