#!/usr/bin/env bash
# Fails when `go mod tidy` would change go.mod or go.sum of any module in the
# repository: the server, the integration suite, the module that builds
# virtctl and the tools. It only checks (`go mod tidy -diff`); no file is
# edited. The stand-ins in test/virtctl/stub are modules only to be
# replaced in by test/virtctl: they have no go.sum of their own to keep.
set -o errexit -o nounset -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
status=0
for dir in . test/integration test/virtctl hack/tools; do
  if ! (cd "${ROOT}/${dir}" && go mod tidy -diff); then
    echo "${dir}/go.mod or go.sum is not tidy: run go mod tidy in ${dir}" >&2
    status=1
  fi
done
[[ ${status} -eq 0 ]] && echo "go.mod and go.sum are tidy in every module."
exit ${status}
