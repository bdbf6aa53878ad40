#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time each
# (default 10s): `hack/fuzz.sh 30s`.
set -o errexit -o nounset -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
# No test runs here (-run '^$'): the heavy suites are off on purpose, so
# that under CI=true they do not fail for not being switched on
# (test/framework/suite.go).
export VM_APISERVER_SUITE=none
FUZZTIME="${1:-10s}"
count=0
while IFS= read -r file; do
  pkg="./$(dirname "${file}")"
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "${file}" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    echo "fuzzing ${pkg} ${target} for ${FUZZTIME}"
    log="$(mktemp)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "${FUZZTIME}" "${pkg}" 2>&1 | tee "${log}"; then
      # Go's fuzzer can end a run with "context deadline exceeded" and no
      # failing input when -fuzztime runs out while a worker is minimizing a
      # new input. That is the toolchain, not the target: run it once more.
      # A real failure writes a failing input and fails at once.
      if grep -q 'context deadline exceeded' "${log}" && ! grep -q 'Failing input written' "${log}"; then
        echo "the fuzzer timed out at its deadline without a failing input; running ${target} again"
        go test -run '^$' -fuzz "^${target}\$" -fuzztime "${FUZZTIME}" "${pkg}"
      else
        rm -f "${log}"
        exit 1
      fi
    fi
    rm -f "${log}"
    count=$((count + 1))
  done
done < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -l '^func Fuzz' | sort)
echo "fuzzed ${count} targets"
