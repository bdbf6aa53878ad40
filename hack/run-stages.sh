#!/usr/bin/env bash
# Runs make targets one after another, like `make A B C`, and prints how
# long each took and how it ended. Every stage runs even when an earlier one
# failed, so that one run reports them all; the exit status is 1 if any
# failed.
set -o nounset -o pipefail
MAKE="${MAKE:-make}"
names=() seconds=() results=()
status=0
for stage in "$@"; do
  started=${SECONDS}
  echo "==> ${stage}"
  if "${MAKE}" --no-print-directory "${stage}"; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  names+=("${stage}") seconds+=($((SECONDS - started))) results+=("${result}")
done
total=0
echo
echo "Stage timings:"
for i in "${!names[@]}"; do
  printf '  %-26s %5ds  %s\n' "${names[$i]}" "${seconds[$i]}" "${results[$i]}"
  total=$((total + seconds[i]))
done
printf '  %-26s %5ds\n' total "${total}"
exit ${status}
