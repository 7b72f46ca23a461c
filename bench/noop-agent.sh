#!/bin/sh
# A no-op agent for benchmarks: reads its prompt, writes one file, prints a minimal Claude Code
# stream (init + successful result). The commit is left to orch (or to the baseline script).
# `auth status` (orch asks it once before a run) is answered at once, as Claude Code does: no
# task work, no sleep.
if [ "$1" = auth ]; then printf '{"loggedIn": true, "authMethod": "api_key"}\n'; exit 0; fi
cat > /dev/null
printf '{"type":"system","subtype":"init","session_id":"bench-%s"}\n' "$ORCH_TASK_ID"
printf 'done by %s\n' "$ORCH_TASK_ID" > bench-output.txt
printf '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"total_cost_usd":0,"session_id":"bench-%s","result":"ok","permission_denials":[]}\n' "$ORCH_TASK_ID"
