#!/usr/bin/env bash
# Runs golangci-lint, at the version hack/tools/go.mod pins, with the
# repository's .golangci.yml over the server's module and the integration
# suite's module.
set -o errexit -o nounset -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
lint=(go tool -modfile="${ROOT}/hack/tools/go.mod" golangci-lint run --config "${ROOT}/.golangci.yml")
cd "${ROOT}"
"${lint[@]}" ./...
cd "${ROOT}/test/integration"
"${lint[@]}" ./...
