#!/usr/bin/env bash
# `npm test`: every step of the test suite, on a machine with Node.js and Python 3 and nothing else. Each step is the
# npm script of that name in the current folder's package.json, run even when an earlier one failed (only a step whose
# prerequisite failed is not run, and counts as failed); at the end one line per step and exit 1 if any failed.
set -u

STEPS=(setup:python setup:chromium build setup:servers test:ts test:py test:configs)
# the step whose output a step runs
needs() { case $1 in test:ts | test:configs) echo build ;; esac; }

result=() secs=() failed=()  # per step, in STEPS order
for i in "${!STEPS[@]}"; do
  step=${STEPS[$i]}
  need=$(needs "$step")
  if [[ -n $need ]] && [[ " ${failed[*]-} " == *" $need "* ]]; then
    result[i]="not run ($need failed)" secs[i]=""
    failed+=("$step")
    continue
  fi
  printf '\n== %s\n' "$step"
  start=$SECONDS
  npm run --silent "$step"
  code=$?
  secs[i]="$((SECONDS - start)) s"
  if ((code == 0)); then result[i]=ok; else result[i]="FAILED (exit $code)"; failed+=("$step"); fi
done

printf '\n== summary\n'
for i in "${!STEPS[@]}"; do printf '  %-15s %-24s %s\n' "${STEPS[$i]}" "${result[i]}" "${secs[i]}"; done
if ((${#failed[@]})); then
  echo "npm test: ${#failed[@]} of ${#STEPS[@]} steps failed: ${failed[*]}"
  exit 1
fi
echo "npm test: all ${#STEPS[@]} steps passed"
