#!/usr/bin/env bash
# Runs the conformance suite in test/integration: vm-apiserver behind a real
# kube-apiserver, with a real etcd and a real kubectl (see docs/deploy.md for
# what it checks). It builds what it needs first:
#   - bin/vm-apiserver, with `make build` (so it is version stamped), when it
#     is missing or older than a source file, unless VM_APISERVER_BIN names a
#     binary to test;
#   - kube-apiserver, kubectl and etcd, cached under .cache/bin/<version>/.
#
# Usage: hack/test-integration.sh [go test flags], e.g. -run TestActions -v
# Set VM_APISERVER_KEEP_TMP=1 to keep the logs and state of a passing run.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${ROOT}"
start=${SECONDS}

if [[ -z "${VM_APISERVER_BIN:-}" ]]; then
  VM_APISERVER_BIN="${ROOT}/bin/vm-apiserver"
  if [[ ! -x "${VM_APISERVER_BIN}" ]] ||
     [[ -n "$(find cmd pkg go.mod go.sum -newer "${VM_APISERVER_BIN}" -print -quit)" ]]; then
    echo "building bin/vm-apiserver" >&2
    make --no-print-directory build >&2
  fi
fi
export VM_APISERVER_BIN

# The suite finds them where this puts them (test/framework/binaries.go).
hack/build-test-binaries.sh >/dev/null
echo "binaries ready after $((SECONDS - start))s" >&2

# The switch every heavy suite has (test/framework/suite.go).
export VM_APISERVER_SUITE=integration

cd test/integration
# -p 1: one test binary at a time; the suite owns real processes and ports.
status=0
go test -count=1 -p 1 -timeout=20m "$@" ./... || status=$?
echo "test-integration finished in $((SECONDS - start))s (exit ${status})" >&2
exit "${status}"
