#!/usr/bin/env bash
# The plain baseline: per task, the same work orch does — git worktree add (serialized with
# flock, as git's locks require), start the agent with the prompt on stdin and its output in a
# file, commit what it left — N tasks at a time with xargs -P.
# usage: baseline.sh <repo> <concurrency> <agent> <task-id>...
set -euo pipefail
repo=$1 concurrency=$2 agent=$3
shift 3
mkdir -p "$repo/.baseline/logs"
run_task() {
  local id=$1
  local worktree="$repo/.baseline/worktrees/$id"
  flock "$repo/.baseline/git.lock" git -C "$repo" worktree add --quiet -b "baseline/$id" "$worktree" HEAD
  (cd "$worktree" && ORCH_TASK_ID=$id "$agent" < "$repo/prompts/$id.md" > "$repo/.baseline/logs/$id.jsonl" 2> "$repo/.baseline/logs/$id.stderr")
  git -C "$worktree" add -A
  git -C "$worktree" commit --quiet --no-verify -m "task $id"
}
export -f run_task
export repo agent
printf '%s\n' "$@" | xargs -P "$concurrency" -I{} bash -c 'run_task "$1"' _ {}
