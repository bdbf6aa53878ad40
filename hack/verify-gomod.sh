#!/usr/bin/env bash
# Fails when `go mod tidy` would change go.mod or go.sum.
set -o errexit -o nounset -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"
TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT
cp go.mod go.sum "${TMP}/"
go mod tidy
if ! diff -u "${TMP}/go.mod" go.mod || ! diff -u "${TMP}/go.sum" go.sum; then
  cp "${TMP}/go.mod" "${TMP}/go.sum" .
  echo "go.mod/go.sum are not tidy: run go mod tidy" >&2
  exit 1
fi
echo "go.mod and go.sum are tidy."
