#!/usr/bin/env bash
# Runs the reliability and security suite in test/reliability (see
# docs/reliability.md): linearizability of the lifecycle actions across two
# replicas (porcupine), etcd and server faults, hostile input, and the
# security boundary, all against real processes on 127.0.0.1.
#
# It builds what it needs first:
#   - bin/vm-apiserver (unless VM_APISERVER_BIN names a binary to test);
#   - etcd and kube-apiserver, cached under .cache/bin/<version>/ by
#     hack/build-test-binaries.sh (a cold kube-apiserver build takes minutes;
#     `make test` runs test-integration first, which warms the cache).
#
# Usage: hack/test-reliability.sh [--short] [go test flags, e.g. -run TestHostile -v]
#   --short  the bounded form CI runs (`make test`): under 5 minutes with a
#            warm binary cache. Without it, the full form: longer loads, more
#            fault cycles, and every fuzz target for FUZZTIME (default 60s).
# Environment:
#   RELIABILITY_SEED=N       replay the random choices of an earlier run
#   RELIABILITY_OUT=dir      where logs, histories and report.md go
#                            (default _output/reliability)
#   VM_APISERVER_KEEP_TMP=1  keep logs and state of passing tests too
#   VM_APISERVER_PREVIOUS_BIN=path  the pinned previous build for TestRollingUpgrade
#                            (default: built from PREVIOUS_COMMIT below)
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${ROOT}"
start=${SECONDS}

short=false
args=()
for a in "$@"; do
  case "${a}" in
    --short) short=true ;;
    *) args+=("${a}") ;;
  esac
done

if [[ -z "${VM_APISERVER_BIN:-}" ]]; then
  echo "building bin/vm-apiserver" >&2
  make --no-print-directory build >&2
  VM_APISERVER_BIN="${ROOT}/bin/vm-apiserver"
fi
export VM_APISERVER_BIN

# The suite finds them where this puts them (test/framework/binaries.go).
hack/build-test-binaries.sh etcd kube-apiserver >/dev/null

# The pinned previous build for TestRollingUpgrade: the commit before actions
# passed the admission chain, built once from `git archive` (which changes
# nothing in the repository) and cached under .cache/bin/.
PREVIOUS_COMMIT=7eb2922667830ed1470805ed8b0a953496d1bd99
if [[ -z "${VM_APISERVER_PREVIOUS_BIN:-}" ]]; then
  prev="${ROOT}/.cache/bin/vm-apiserver-${PREVIOUS_COMMIT:0:12}/vm-apiserver"
  if [[ ! -x "${prev}" ]]; then
    echo "building vm-apiserver at ${PREVIOUS_COMMIT:0:12} (the pinned previous build)" >&2
    src=$(mktemp -d)
    git archive "${PREVIOUS_COMMIT}" | tar -x -C "${src}"
    mkdir -p "$(dirname "${prev}")"
    # No -trimpath: it shares the compiled dependencies with bin/vm-apiserver.
    (cd "${src}" && go build -o "${prev}.tmp" ./cmd/vm-apiserver)
    mv "${prev}.tmp" "${prev}"
    rm -rf "${src}"
  fi
  VM_APISERVER_PREVIOUS_BIN="${prev}"
fi
export VM_APISERVER_PREVIOUS_BIN
echo "binaries ready after $((SECONDS - start))s" >&2

# The switch every heavy suite has (test/framework/suite.go).
export VM_APISERVER_SUITE=reliability
export RELIABILITY_OUT="${RELIABILITY_OUT:-${ROOT}/_output/reliability}"
rm -rf "${RELIABILITY_OUT}"
mkdir -p "${RELIABILITY_OUT}"

# -parallel 2: at most two scenarios at once; the machine is shared.
flags=(-count=1 -parallel 2)
if ${short}; then
  flags+=(-short -timeout=12m)
else
  flags+=(-timeout=60m)
fi
status=0
go test "${flags[@]}" ./test/reliability/ ${args[@]+"${args[@]}"} || status=$?

if ! ${short}; then
  fuzztime="${FUZZTIME:-60s}"
  fuzz_start=${SECONDS}
  # A crasher is written to testdata/fuzz/<Target>/ of its package, where
  # every later `go test` runs it as a regular test case.
  before=$(git status --porcelain --untracked-files=all -- '*/testdata/fuzz/*' | sort)
  fuzz_status=0
  hack/fuzz.sh "${fuzztime}" 2>&1 | tee "${RELIABILITY_OUT}/fuzz.log" || fuzz_status=$?
  after=$(git status --porcelain --untracked-files=all -- '*/testdata/fuzz/*' | sort)
  crashers=$(comm -13 <(printf '%s\n' "${before}") <(printf '%s\n' "${after}") | sed '/^$/d' || true)
  targets=$(grep -c '^fuzzing ' "${RELIABILITY_OUT}/fuzz.log" || true)
  {
    printf '\nFuzzing: %s targets, %s each, %ss in all; ' "${targets}" "${fuzztime}" "$((SECONDS - fuzz_start))"
    if [[ -n "${crashers}" ]]; then
      printf 'new crashers (now regular test cases):\n%s\n' "${crashers}"
    else
      printf 'no crasher found.\n'
    fi
  } >> "${RELIABILITY_OUT}/report.md"
  if [[ ${fuzz_status} -ne 0 || -n "${crashers}" ]]; then
    status=1
  fi
fi

if [[ -f "${RELIABILITY_OUT}/report.md" ]]; then
  echo
  cat "${RELIABILITY_OUT}/report.md"
fi
echo "test-reliability$(${short} && echo ' --short') finished in $((SECONDS - start))s (exit ${status})" >&2
exit "${status}"
