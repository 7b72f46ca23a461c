#!/bin/sh
# The DAG benchmark's agent: works 2 s on a chain task (id chain-*), 1 s on any other (times
# scaled by BENCH_DAG_UNIT, default 1), writes one file, prints a minimal Claude Code stream.
# `auth status` (orch asks it once before a run) is answered at once, as Claude Code does: no
# task work, no sleep.
if [ "$1" = auth ]; then printf '{"loggedIn": true, "authMethod": "api_key"}\n'; exit 0; fi
cat > /dev/null
printf '{"type":"system","subtype":"init","session_id":"bench-%s"}\n' "$ORCH_TASK_ID"
unit=${BENCH_DAG_UNIT:-1}
case "$ORCH_TASK_ID" in
  chain-*) sleep "$(awk "BEGIN { print 2 * $unit }")" ;;
  *) sleep "$unit" ;;
esac
printf 'done by %s\n' "$ORCH_TASK_ID" > bench-output.txt
printf '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"total_cost_usd":0,"session_id":"bench-%s","result":"ok","permission_denials":[]}\n' "$ORCH_TASK_ID"
