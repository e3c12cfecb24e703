#!/usr/bin/env bash
# `npm test`: every step of the test suite, on a machine with Node.js and Python 3 and nothing else. Each step is the
# npm script of that name in the current folder's package.json, run even when an earlier one failed (only a step whose
# prerequisite failed is not run, and counts as failed); at the end one line per step and exit 1 if any failed.
set -u

STEPS=(setup:python setup:chromium build setup:servers test:ts test:py test:configs)
declare -A NEEDS=([test:ts]=build [test:configs]=build)  # step -> the step whose output it runs
declare -A RESULT SECS
failed=()

for step in "${STEPS[@]}"; do
  need=${NEEDS[$step]:-}
  if [[ -n $need && ${RESULT[$need]} != ok ]]; then
    RESULT[$step]="not run ($need failed)"
    failed+=("$step")
    continue
  fi
  printf '\n== %s\n' "$step"
  start=$SECONDS
  npm run --silent "$step"
  code=$?
  SECS[$step]=$((SECONDS - start))
  if ((code == 0)); then RESULT[$step]=ok; else RESULT[$step]="FAILED (exit $code)"; failed+=("$step"); fi
done

printf '\n== summary\n'
for step in "${STEPS[@]}"; do
  printf '  %-15s %-24s %s\n' "$step" "${RESULT[$step]}" "${SECS[$step]:+${SECS[$step]} s}"
done
if ((${#failed[@]})); then
  echo "npm test: ${#failed[@]} of ${#STEPS[@]} steps failed: ${failed[*]}"
  exit 1
fi
echo "npm test: all ${#STEPS[@]} steps passed"
