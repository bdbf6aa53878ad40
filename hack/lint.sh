#!/usr/bin/env bash
# Lints every Go module of the repository (the server's and the nested ones
# with Go code of the project's: test/integration, test/virtctl, hack/tools):
#   - gofmt -s: every Go file is formatted and simplified;
#   - vmlint (hack/tools/vmlint), the analyzers .golangci.yml configures, run
#     through `go vet -vettool`, so that go vet caches the results and shares
#     the compiled dependencies with `go build` and `go test`.
# vmlint is built once into .cache/tools/ (or $VM_APISERVER_TOOLS_DIR), and
# rebuilt only when hack/tools changes.
#
# Usage: hack/lint.sh [package patterns, default ./...]
set -o errexit -o nounset -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"

vmlint=$(hack/build-tools.sh vmlint)

status=0
# Generated files keep their generators' layout.
unformatted=$(git ls-files --cached --others --exclude-standard '*.go' \
  | xargs grep -L '^// Code generated .* DO NOT EDIT\.$' | xargs gofmt -s -l)
if [[ -n "${unformatted}" ]]; then
  echo "gofmt -s needed:" >&2
  echo "${unformatted}" >&2
  status=1
fi

patterns=("$@")
if [[ ${#patterns[@]} -eq 0 ]]; then
  patterns=(./...)
fi
for mod in . test/integration hack/tools; do
  echo "vmlint ${mod}" >&2
  (cd "${mod}" && go vet -vettool="${vmlint}" "${patterns[@]}") || status=1
done
exit "${status}"
