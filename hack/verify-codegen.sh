#!/usr/bin/env bash
# Fails when the generated code in pkg/ differs from what
# hack/update-codegen.sh would write now. It generates into a copy of the
# tree, so the working tree is never touched.
set -o errexit
set -o nounset
set -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
TMP="$(mktemp -d -t verify-codegen.XXXXXX)"
trap 'rm -rf "${TMP}"' EXIT

tar -C "${ROOT}" --exclude=./.git --exclude=./bin --exclude=./_output --exclude=./.vm-apiserver --exclude=./.cache -cf - . | tar -C "${TMP}" -xf -
OUTPUT_ROOT="${TMP}" "${ROOT}/hack/update-codegen.sh" >/dev/null

ret=0
diff -Naupr "${ROOT}/pkg" "${TMP}/pkg" || ret=$?
diff -Naup "${ROOT}/hack/api-rules-violations.list" "${TMP}/hack/api-rules-violations.list" || ret=$?
if [[ ${ret} -ne 0 ]]; then
  echo "Generated code is stale: run hack/update-codegen.sh" >&2
  exit 1
fi
echo "Generated code is up to date."
