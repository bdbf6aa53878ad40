#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time each
# (default 10s): `hack/fuzz.sh 30s`.
set -o errexit -o nounset -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
FUZZTIME="${1:-10s}"
count=0
while IFS= read -r file; do
  pkg="./$(dirname "${file}")"
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "${file}" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    echo "fuzzing ${pkg} ${target} for ${FUZZTIME}"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "${FUZZTIME}" "${pkg}"
    count=$((count + 1))
  done
done < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -l '^func Fuzz' | sort)
echo "fuzzed ${count} targets"
