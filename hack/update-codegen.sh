#!/usr/bin/env bash
# Regenerates deepcopy, conversion, defaults, OpenAPI and the Go client from
# the API types in pkg/apis, with k8s.io/code-generator's kube_codegen.sh at
# the version pinned in go.mod.
set -o errexit
set -o nounset
set -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# OUTPUT_ROOT lets verify-codegen.sh generate into a copy of the tree.
OUTPUT_ROOT="${OUTPUT_ROOT:-${ROOT}}"
MODULE="github.com/vm-apiserver/vm-apiserver"
BOILERPLATE="${ROOT}/hack/boilerplate.go.txt"

cd "${OUTPUT_ROOT}"
go mod download k8s.io/code-generator
CODEGEN_PKG="$(go list -m -f '{{.Dir}}' k8s.io/code-generator)"
# kube_codegen.sh installs the generators into GOBIN; keep them inside the
# project instead of the user's GOPATH.
export GOBIN="${OUTPUT_ROOT}/_output/bin"
mkdir -p "${GOBIN}"
# kube_codegen.sh runs `go install` on each generator from the generator's own
# module. Build them from this module instead, so that the generators are the
# `tool` versions that go.mod pins (the same ones `go tool NAME` runs).
go() {
    if [[ "${1:-}" == "install" ]]; then
        shift
        local pkg
        for pkg in "$@"; do
            command go build -C "${OUTPUT_ROOT}" -o "${GOBIN}/$(basename "${pkg%@*}")" "${pkg%@*}"
        done
    else
        command go "$@"
    fi
}
# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"
# The core/v1 types are inputs of openapi-gen (--extra-pkgs below) but live in
# the read-only module cache: never write generated files there.
KUBE_CODEGEN_READONLY_PKGS+=(k8s.io/api/core/v1)

kube::codegen::gen_helpers \
    --boilerplate "${BOILERPLATE}" \
    "${OUTPUT_ROOT}/pkg/apis"

kube::codegen::gen_openapi \
    --output-dir "${OUTPUT_ROOT}/pkg/generated/openapi" \
    --output-pkg "${MODULE}/pkg/generated/openapi" \
    --output-model-name-file "zz_generated.model_name.go" \
    --extra-pkgs k8s.io/api/core/v1 \
    --report-filename "${OUTPUT_ROOT}/hack/api-rules-violations.list" \
    --update-report \
    --boilerplate "${BOILERPLATE}" \
    "${OUTPUT_ROOT}/pkg/apis"

kube::codegen::gen_client \
    --with-watch \
    --with-applyconfig \
    --applyconfig-openapi-schema <(go run "${MODULE}/pkg/generated/openapi/cmd/models-schema") \
    --output-dir "${OUTPUT_ROOT}/pkg/generated" \
    --output-pkg "${MODULE}/pkg/generated" \
    --boilerplate "${BOILERPLATE}" \
    "${OUTPUT_ROOT}/pkg/apis"
