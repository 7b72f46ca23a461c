#!/usr/bin/env bash
# The plain baseline for `orch merge`: in a worktree of its own, merge each branch with
# `git merge --no-ff`, run the check after each, undo the merge when the check fails.
# usage: merge-baseline.sh <repo> <base> <check> <branch>...
set -euo pipefail
repo=$1 base=$2 check=$3
shift 3
worktree="$repo/.baseline-merge"
git -C "$repo" worktree add --quiet -b baseline/integration "$worktree" "$base"
cd "$worktree"
for branch in "$@"; do
  git merge --quiet --no-ff --no-edit -m "merge $branch" "$branch"
  sh -c "$check" || git reset --quiet --hard HEAD~1
done
