#!/usr/bin/env bash
# Builds the project's development tools from hack/tools (a module of its
# own, so that their dependencies stay out of the server's go.mod) and prints
# the path of each, one a line. A tool is built once into .cache/tools/ (or
# $VM_APISERVER_TOOLS_DIR) and rebuilt only when the sources of hack/tools or
# the Go version change, so that every stage that runs it reuses one build.
#
# Usage: hack/build-tools.sh vmlint
set -o errexit -o nounset -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
TOOLS="${ROOT}/hack/tools"
DIR="${VM_APISERVER_TOOLS_DIR:-${ROOT}/.cache/tools}"

stamp="$(go env GOVERSION GOOS GOARCH | tr '\n' ' ')$(cd "${TOOLS}" \
  && find . -name '*.go' -o -name go.mod -o -name go.sum | LC_ALL=C sort \
  | xargs sha256sum | sha256sum | cut -c1-16)"
mkdir -p "${DIR}"
for tool in "$@"; do
  if [[ ! -f "${TOOLS}/${tool}/main.go" ]]; then
    echo "unknown tool: ${tool}" >&2
    exit 2
  fi
  bin="${DIR}/${tool}"
  if [[ ! -x "${bin}" || "$(cat "${DIR}/.${tool}.stamp" 2>/dev/null)" != "${stamp}" ]]; then
    echo "building ${tool} into ${DIR}" >&2
    (cd "${TOOLS}" && go build -o "${bin}.tmp" "./${tool}")
    mv "${bin}.tmp" "${bin}"
    printf '%s' "${stamp}" > "${DIR}/.${tool}.stamp"
  fi
  echo "${bin}"
done
