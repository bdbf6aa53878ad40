#!/usr/bin/env bash
# Runs every Go benchmark once (-benchtime=1x, no test), so that none stops
# compiling or fails unnoticed between `make bench` runs. Only the packages
# that have benchmarks are built, each in its own module, without -race.
# Extra arguments go to go test, e.g. hack/test-benchmarks.sh -v
set -o errexit -o nounset -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
# No test runs here (-run '^$'): the heavy suites are off on purpose, so
# that under CI=true they do not fail for not being switched on
# (test/framework/suite.go).
export VM_APISERVER_SUITE=none

# The packages with a benchmark, grouped by the module (the nearest go.mod)
# they belong to.
declare -A packages=()
while IFS= read -r file; do
  dir=$(dirname "${file}")
  mod=${dir}
  while [[ ! -f "${mod}/go.mod" ]]; do
    mod=$(dirname "${mod}")
  done
  rel=${dir#"${mod}"}
  pkg="./${rel#/}"
  if [[ " ${packages[${mod}]:-} " != *" ${pkg} "* ]]; then
    packages["${mod}"]+=" ${pkg}"
  fi
done < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -l '^func Benchmark' | sort)

if [[ ${#packages[@]} -eq 0 ]]; then
  echo "no benchmark found" >&2
  exit 1
fi
status=0
for mod in $(printf '%s\n' "${!packages[@]}" | sort); do
  # shellcheck disable=SC2086 # one word per package
  (cd "${mod}" && go test -count=1 -run '^$' -bench . -benchtime=1x "$@" ${packages[${mod}]}) || status=1
done
exit "${status}"
