#!/usr/bin/env bash
# Builds the real programs the suites run against: kube-apiserver and kubectl
# at the Kubernetes version, etcd at the version that Kubernetes requires
# (both versions come from test/integration/go.mod), and KubeVirt's virtctl
# (from test/virtctl/go.mod, a module of its own that holds KubeVirt's replace
# lines). The test framework (test/framework/binaries.go) names the same
# versions, and its tests check that they agree: bump both together.
#
# Binaries are cached under .cache/bin/<version>/ (git-ignored), or
# $VM_APISERVER_TEST_CACHE/<version>/. A binary that is already there is not
# rebuilt. The components are built one at a time: kube-apiserver alone peaks
# at about 3 GB of memory. virtctl from a cold build cache takes about 390
# CPU-seconds and peaks under 1 GB: it compiles a copy of the Kubernetes
# libraries of its own, at the version KubeVirt's replace lines pin
# (v0.34.2), which the other builds do not share.
#
# Usage: hack/build-test-binaries.sh [kube-apiserver|kubectl|etcd|virtctl ...]
# With no argument it builds etcd, kubectl and kube-apiserver.
# Prints the cache directories as shell assignments on stdout:
#   KUBE_BIN_DIR=...  ETCD_BIN_DIR=...  VIRTCTL_BIN_DIR=...
# hack/build-test-binaries.sh --versions prints the versions and builds nothing:
#   KUBE_VERSION=...  ETCD_VERSION=...  VIRTCTL_VERSION=...
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODDIR="${ROOT}/test/integration"
VIRTCTL_MODDIR="${ROOT}/test/virtctl"
CACHE="${VM_APISERVER_TEST_CACHE:-${ROOT}/.cache/bin}"

cd "${MODDIR}"

kube_version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd_version=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
virtctl_version=$(cd "${VIRTCTL_MODDIR}" && go list -m -f '{{.Version}}' kubevirt.io/kubevirt)
if [[ "${1:-}" == --versions ]]; then
  printf 'KUBE_VERSION=%s\nETCD_VERSION=%s\nVIRTCTL_VERSION=%s\n' \
    "${kube_version}" "${etcd_version}" "${virtctl_version}"
  exit 0
fi
kube_dir="${CACHE}/${kube_version}"
etcd_dir="${CACHE}/${etcd_version}"
virtctl_dir="${CACHE}/${virtctl_version}"

# kube_ldflags stamps the version the way Kubernetes' release build does
# (hack/lib/version.sh): without it, kubectl version and the server's /version
# report v0.0.0, and kubectl's User-Agent says kubectl/v0.0.0.
kube_ldflags() {
  local v=${kube_version#v}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  local flags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X ${pkg}.gitVersion=${kube_version} -X ${pkg}.gitMajor=${major}"
    flags+=" -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean"
  done
  printf -- '%s' "${flags}"
}

# virtctl_ldflags stamps the version the way KubeVirt's release build does
# (hack/version.sh): without it, `virtctl version` reports
# v0.0.0-master+$Format:%h$. The commit and the date are the release tag's,
# as the Go module proxy records them, so the binary is the same on every
# machine.
virtctl_ldflags() {
  local pkg=kubevirt.io/client-go/version commit date
  commit=$(cd "${VIRTCTL_MODDIR}" && go mod download -json "kubevirt.io/kubevirt@${virtctl_version}" \
    | sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)".*/\1/p')
  date=$(cd "${VIRTCTL_MODDIR}" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' kubevirt.io/kubevirt)
  local flags="-s -w -X ${pkg}.gitVersion=${virtctl_version} -X ${pkg}.buildDate=${date}"
  if [[ -n "${commit}" ]]; then
    flags+=" -X ${pkg}.gitCommit=${commit} -X ${pkg}.gitTreeState=clean"
  fi
  printf -- '%s' "${flags}"
}

# build NAME DIR PACKAGE LDFLAGS [MODDIR [SOURCES]] builds PACKAGE, in the
# module at MODDIR (test/integration unless given), into DIR/NAME unless it is
# there already, built from the same package with the same flags and SOURCES
# (recorded in DIR/.NAME.stamp; SOURCES is a checksum of files the build
# depends on beyond the versions). It writes to a temporary name first, so an
# interrupted build never leaves a half-written binary in the cache.
build() {
  local name=$1 dir=$2 pkg=$3 ldflags=$4 moddir=${5:-${MODDIR}} sources=${6:-}
  local stamp
  stamp="${pkg} ${ldflags} $(go env GOVERSION GOOS GOARCH CGO_ENABLED | tr "\n" " ")"
  if [[ -n "${sources}" ]]; then
    stamp+=" ${sources}"
  fi
  if [[ -x "${dir}/${name}" && "$(cat "${dir}/.${name}.stamp" 2>/dev/null)" == "${stamp}" ]]; then
    echo "cached: ${dir}/${name}" >&2
    return 0
  fi
  mkdir -p "${dir}"
  # One build at a time per binary: `make test` builds them in the
  # background while the stages that need them may ask for them too. The
  # one that waited finds the binary built.
  local lock
  exec {lock}>"${dir}/.${name}.lock"
  flock "${lock}"
  if [[ -x "${dir}/${name}" && "$(cat "${dir}/.${name}.stamp" 2>/dev/null)" == "${stamp}" ]]; then
    echo "cached: ${dir}/${name}" >&2
    exec {lock}>&-
    return 0
  fi
  echo "building ${name} (${pkg}) into ${dir}" >&2
  local start=${SECONDS}
  # Same compile settings as `go test`, `go vet` and bin/vm-apiserver (no
  # -trimpath, default CGO_ENABLED), so that they share one build cache and
  # a cold run compiles the Kubernetes libraries once rather than twice.
  (cd "${moddir}" && go build -ldflags "${ldflags}" -o "${dir}/.${name}.tmp" "${pkg}")
  mv "${dir}/.${name}.tmp" "${dir}/${name}"
  printf '%s' "${stamp}" > "${dir}/.${name}.stamp"
  exec {lock}>&-
  echo "built ${name} in $((SECONDS - start))s" >&2
}

want=("$@")
if [[ ${#want[@]} -eq 0 ]]; then
  want=(etcd kubectl kube-apiserver)
fi
for c in "${want[@]}"; do
  case "${c}" in
    etcd) build etcd "${etcd_dir}" go.etcd.io/etcd/server/v3 "-s -w" ;;
    kubectl) build kubectl "${kube_dir}" k8s.io/kubernetes/cmd/kubectl "$(kube_ldflags)" ;;
    kube-apiserver) build kube-apiserver "${kube_dir}" k8s.io/kubernetes/cmd/kube-apiserver "$(kube_ldflags)" ;;
    # The stand-ins in test/virtctl/stub are not versioned: their checksum
    # is part of the stamp, with go.mod and go.sum.
    virtctl) build virtctl "${virtctl_dir}" kubevirt.io/kubevirt/cmd/virtctl "$(virtctl_ldflags)" \
      "${VIRTCTL_MODDIR}" "$(cd "${VIRTCTL_MODDIR}" && find go.mod go.sum stub -type f \
        | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)" ;;
    *) echo "unknown component: ${c}" >&2; exit 2 ;;
  esac
done

printf 'KUBE_BIN_DIR=%q\nETCD_BIN_DIR=%q\nVIRTCTL_BIN_DIR=%q\n' "${kube_dir}" "${etcd_dir}" "${virtctl_dir}"
