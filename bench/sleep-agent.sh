#!/bin/sh
# A benchmark agent that works for BENCH_AGENT_SLEEP seconds (default 2): reads its prompt,
# sleeps, writes one file, prints a minimal Claude Code stream. The commit is left to orch.
# `auth status` (orch asks it once before a run) is answered at once, as Claude Code does: no
# task work, no sleep.
if [ "$1" = auth ]; then printf '{"loggedIn": true, "authMethod": "api_key"}\n'; exit 0; fi
cat > /dev/null
printf '{"type":"system","subtype":"init","session_id":"bench-%s"}\n' "$ORCH_TASK_ID"
sleep "${BENCH_AGENT_SLEEP:-2}"
printf 'done by %s\n' "$ORCH_TASK_ID" > bench-output.txt
printf '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"total_cost_usd":0,"session_id":"bench-%s","result":"ok","permission_denials":[]}\n' "$ORCH_TASK_ID"
