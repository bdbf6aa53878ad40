#!/usr/bin/env bash
# Runs the benchmarks (`make bench`) against real processes on
# this machine: one etcd 3.7.0 (fsync on, data on disk under _output/bench)
# and one vm-apiserver in front of it, standalone, over HTTPS with client
# certificates. It prints one line per figure ("BENCH ..."), the ratio lines
# A/B, A/C and A/D, the goals of the issue, the profile hot spots and the
# micro-benchmarks. Everything printed is also kept in _output/bench/results.txt.
#
# Phases:
#   1. etcd and server 1 (watch cache on); start-up time on an empty store
#   2. the action cells: method x VM count x concurrency, methods side by side
#   3. one profiled action cell (CPU and allocations, from /debug/pprof)
#   4. scale: create N VMs; RSS; full and paged LISTs; watches
#   5. server 2 on the same etcd: start-up time with N VMs stored
#   6. server 3 with --watch-cache=false: the same LISTs and watches from etcd
#   7. micro-benchmarks (go test -bench -benchmem)
#
# Settings (environment variables, or the flags in brackets):
#   BENCH_CELL        measured seconds per cell            [--cell]      5s
#   BENCH_WARMUP      unmeasured warm-up per cell          [--warmup]    1s
#   BENCH_VMS         VM set sizes                         [--vms]       1,100
#   BENCH_CONCURRENCY worker counts                        [--concurrency] 1,8,64
#   BENCH_METHODS     methods                              [--methods]   A,B,C,D
#   BENCH_SCALE_N     VMs of the scale figures, 0 skips    [--scale-n]   100000
#   BENCH_PROFILE     1 profiles one cell per method below [--profile]   1
#   BENCH_PROFILE_METHODS methods profiled at 100 VMs, c=64 [--profile-methods] A
#   BENCH_MICRO       1 runs the micro-benchmarks          [--micro]     1
#   BENCH_MICRO_TIME  -benchtime of the micro-benchmarks   [--micro-time] 300ms
#   BENCH_OUT         output directory                     [--out]       _output/bench
#   BENCH_SERVER_ENV  environment of the server, e.g. GOGC=200 [--server-env]
#   BENCH_SERVER_ARGS extra server flags, e.g. --watch-cache=false [--server-args]
#   BENCH_SERVER_BIN  a vm-apiserver binary to measure instead of building
#                     this tree's (to compare a candidate change) [--server-bin]
#
# The default run takes about 5 minutes on the 2-core machine of
# docs/benchmarks.md. The issue's 20 s cells add 6 minutes (24 cells x 15 s):
#   make bench BENCH_CELL=20s      (or hack/bench.sh --cell 20s)
# A quick run: hack/bench.sh --cell 2s --scale-n 10000 --micro 0
set -o errexit -o nounset -o pipefail

# The whole run is one function, read in full before it starts, so that
# editing this file during a run cannot break that run.
main() {
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  cd "${ROOT}"

  CELL=${BENCH_CELL:-5s}
  WARMUP=${BENCH_WARMUP:-1s}
  VMS=${BENCH_VMS:-1,100}
  CONCURRENCY=${BENCH_CONCURRENCY:-1,8,64}
  METHODS=${BENCH_METHODS:-A,B,C,D}
  SCALE_N=${BENCH_SCALE_N:-100000}
  PROFILE=${BENCH_PROFILE:-1}
  PROFILE_METHODS=${BENCH_PROFILE_METHODS:-A}
  MICRO=${BENCH_MICRO:-1}
  MICRO_TIME=${BENCH_MICRO_TIME:-300ms}
  OUT=${BENCH_OUT:-${ROOT}/_output/bench}
  SERVER_ENV=${BENCH_SERVER_ENV:-}
  SERVER_BIN=${BENCH_SERVER_BIN:-}
  SERVER_ARGS=${BENCH_SERVER_ARGS:-}

  while [[ $# -gt 0 ]]; do
    case "$1" in
      --cell) CELL=$2; shift 2 ;;
      --warmup) WARMUP=$2; shift 2 ;;
      --vms) VMS=$2; shift 2 ;;
      --concurrency) CONCURRENCY=$2; shift 2 ;;
      --methods) METHODS=$2; shift 2 ;;
      --scale-n) SCALE_N=$2; shift 2 ;;
      --profile) PROFILE=$2; shift 2 ;;
      --profile-methods) PROFILE_METHODS=$2; shift 2 ;;
      --micro) MICRO=$2; shift 2 ;;
      --micro-time) MICRO_TIME=$2; shift 2 ;;
      --out) OUT=$2; shift 2 ;;
      --server-env) SERVER_ENV=$2; shift 2 ;;
      --server-bin) SERVER_BIN=$2; shift 2 ;;
      --server-args) SERVER_ARGS=$2; shift 2 ;;
      -h|--help) sed -n '2,/^set -o/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
      *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
  done

  log() { echo "[bench $(date +%T)] $*" >&2; }

  # A fresh run every time: the figures must not depend on an earlier one.
  rm -rf "${OUT}"
  mkdir -p "${OUT}/bin" "${OUT}/profiles"
  RESULTS="${OUT}/results.txt"
  # Everything on stdout also goes to the results file.
  exec > >(tee "${RESULTS}")
  STARTED=${SECONDS}

  ETCD_PID=""
  SERVER_PID=""
  cleanup() {
    local pid
    for pid in "${SERVER_PID}" "${ETCD_PID}"; do
      if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then
        kill -TERM "${pid}" 2>/dev/null || true
        wait "${pid}" 2>/dev/null || true
      fi
    done
  }
  trap cleanup EXIT

  # --- build --------------------------------------------------------------------
  log "building vm-apiserver and vm-bench"
  if [[ -n "${SERVER_BIN}" ]]; then
    cp "${SERVER_BIN}" "${OUT}/bin/vm-apiserver"
  else
    # Built like `make build` (trimpath) but into _output, so that bin/ keeps
    # its version-stamped binary.
    go build -trimpath -o "${OUT}/bin/vm-apiserver" ./cmd/vm-apiserver
  fi
  go build -o "${OUT}/bin/vm-bench" ./test/bench/cmd/vm-bench
  log "getting etcd (built once, then cached)"
  eval "$(hack/build-test-binaries.sh etcd)"
  ETCD="${ETCD_BIN_DIR}/etcd"
  BENCH="${OUT}/bin/vm-bench"

  mem_total=$(awk '/MemTotal/ {printf "%.1fGiB", $2/1048576}' /proc/meminfo)
  cpu_model=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo | tr ' ' '_')
  echo "BENCH machine nproc=$(nproc) mem=${mem_total} cpu=${cpu_model} go=$(go env GOVERSION) kernel=$(uname -r) date=$(date -u +%Y-%m-%dT%H:%M:%SZ) commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(test -z "$(git status --porcelain 2>/dev/null)" || echo -dirty) load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
  echo "BENCH settings cell=${CELL} warmup=${WARMUP} vms=${VMS} concurrency=${CONCURRENCY} methods=${METHODS} scale_n=${SCALE_N} etcd=$("${ETCD}" --version | awk '/etcd Version/ {print $3}') fsync=on server_env=${SERVER_ENV// /,} server_args=${SERVER_ARGS// /,} server_bin=${SERVER_BIN:-built}"

  mapfile -t ports < <("${BENCH}" ports 3)
  ETCD_PORT=${ports[0]} PEER_PORT=${ports[1]} API_PORT=${ports[2]}
  ETCD_URL="http://127.0.0.1:${ETCD_PORT}"
  SERVER_URL="https://127.0.0.1:${API_PORT}"
  DATA="${OUT}/server"

  # --- etcd -----------------------------------------------------------------------
  log "starting etcd on ${ETCD_URL} (data in ${OUT}/etcd, fsync on)"
  "${ETCD}" --name bench --data-dir "${OUT}/etcd" \
    --listen-client-urls "${ETCD_URL}" --advertise-client-urls "${ETCD_URL}" \
    --listen-peer-urls "http://127.0.0.1:${PEER_PORT}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${PEER_PORT}" \
    --initial-cluster "bench=http://127.0.0.1:${PEER_PORT}" \
    --quota-backend-bytes $((8 * 1024 * 1024 * 1024)) \
    --log-level warn >"${OUT}/etcd.log" 2>&1 &
  ETCD_PID=$!
  for _ in $(seq 1 300); do
    curl -fsS "${ETCD_URL}/health" >/dev/null 2>&1 && break
    kill -0 "${ETCD_PID}" 2>/dev/null || { cat "${OUT}/etcd.log" >&2; exit 1; }
    sleep 0.1
  done
  curl -fsS "${ETCD_URL}/health" >/dev/null

  common=(--server "${SERVER_URL}" --data-dir "${DATA}")

  # start_server LABEL N [FLAGS...] starts vm-apiserver on the bench etcd and
  # prints its start-up time (until /readyz, and until the watch cache holds N VMs).
  start_server() {
    local label=$1 n=$2
    shift 2
    log "starting vm-apiserver (${label}) on ${SERVER_URL}"
    local t0
    t0=$(date +%s%N)
    local -a env_vars extra
    read -r -a env_vars <<<"${SERVER_ENV}"
    read -r -a extra <<<"${SERVER_ARGS}"
    env "${env_vars[@]}" "${OUT}/bin/vm-apiserver" --data-dir "${DATA}" --etcd-servers "${ETCD_URL}" \
      --secure-port "${API_PORT}" --bind-address 127.0.0.1 --runtime none "${extra[@]}" "$@" \
      >"${OUT}/server-${label}.log" 2>&1 &
    SERVER_PID=$!
    if ! "${BENCH}" startup "${common[@]}" --server-pid "${SERVER_PID}" --since-ns "${t0}" \
        --label "${label}" --n "${n}" --namespace scale; then
      tail -n 30 "${OUT}/server-${label}.log" >&2
      exit 1
    fi
  }

  stop_server() {
    kill -TERM "${SERVER_PID}"
    wait "${SERVER_PID}" 2>/dev/null || true
    SERVER_PID=""
  }

  # --- actions ------------------------------------------------------------------
  start_server empty 0
  profile_args=()
  if [[ "${PROFILE}" == 1 ]]; then
    profile_args=(--profile-dir "${OUT}/profiles" --profile-methods "${PROFILE_METHODS}" --profile-cell "100,64")
  fi
  log "action cells: methods ${METHODS}, VMs ${VMS}, concurrency ${CONCURRENCY}, ${WARMUP} + ${CELL} each"
  "${BENCH}" actions "${common[@]}" --server-pid "${SERVER_PID}" --etcd "${ETCD_URL}" \
    --vms "${VMS}" --concurrency "${CONCURRENCY}" --methods "${METHODS}" \
    --warmup "${WARMUP}" --duration "${CELL}" --seed artifacts/examples/vm-cirros.yaml --etcd-pid "${ETCD_PID}" \
    "${profile_args[@]}"

  # The hot spots, kept in files; the heads are printed as comments.
  # top NAME FILE [PPROF FLAGS...] writes FILE's table to FILE.NAME.top and
  # prints its first lines.
  top() {
    local name=$1 file=$2
    shift 2
    go tool pprof -top "$@" "${OUT}/bin/vm-apiserver" "${file}" >"${file%.pprof}.${name}.top" 2>/dev/null || return 0
    echo "# ${name}: ${file%.pprof}.${name}.top"
    sed -n '/flat%/,$p' "${file%.pprof}.${name}.top" | head -n 16 | sed 's/^/#   /'
  }
  # shares FILE prints, for a CPU profile, the share of the server's CPU
  # spent under each of the parts below (by regular expression on the stack;
  # the parts may overlap, e.g. GC assists inside the field manager).
  share_names=(gc alloc field_manager x509_authn etcd_client http2 stack_growth json_encode json_decode cached_reencode response_write watch_cache validation decide)
  share_res=(
    'runtime\.gcBgMarkWorker$|runtime\.gcAssistAlloc$|runtime\.bgsweep$|runtime\.bgscavenge$'
    'runtime\.mallocgc$'
    'managedfields/internal\.\(\*FieldManager\)\.Update$'
    'request/x509\.\(\*Authenticator\)\.AuthenticateRequest$'
    'go\.etcd\.io/etcd/client|google\.golang\.org/grpc'
    'golang\.org/x/net/http2'
    'runtime\.newstack$'
    'serializer/json\.\(\*Serializer\)\.Encode$'
    'serializer/json\.\(\*Serializer\)\.Decode$'
    'etcd3\.\(\*store\)\.getStateFromObject$'
    'responsewriters\.WriteObjectNegotiated$'
    'cacher\.\(\*watchCache\)|cacher\.\(\*Cacher\)\.(dispatchEvents|dispatchEvent|processEvent)|etcd3\.\(\*watchChan\)'
    'ValidateUpdate$'
    'virtualmachine\.Decide$'
  )
  shares() {
    local file=$1 line i pct
    line="BENCH cpu-share profile=$(basename "${file%-cpu.pprof}")"
    for i in "${!share_names[@]}"; do
      pct=$(go tool pprof -top -nodecount=1000000 -focus="${share_res[$i]}" "${OUT}/bin/vm-apiserver" "${file}" 2>/dev/null |
        sed -n 's/^Showing nodes accounting for [^,]*, \([0-9.]*%\) of .*/\1/p')
      line+=" ${share_names[$i]}=${pct:-0%}"
    done
    echo "${line}"
  }

  if [[ "${PROFILE}" == 1 ]]; then
    for f in "${OUT}"/profiles/*-cpu.pprof; do
      shares "${f}"
      top cpu "${f}" -nodecount=40
      top cpu-cum "${f}" -cum -nodecount=80
    done
    for f in "${OUT}"/profiles/*-allocs.pprof; do
      top alloc-space "${f}" -sample_index=alloc_space -nodecount=40
      top alloc-objects "${f}" -sample_index=alloc_objects -nodecount=40
    done
    top inuse "${OUT}/profiles/after-actions-heap.pprof" -sample_index=inuse_space -nodecount=25
  fi

  # --- scale --------------------------------------------------------------------
  if [[ "${SCALE_N}" -gt 0 ]]; then
    log "scale: creating ${SCALE_N} VMs"
    "${BENCH}" scale "${common[@]}" --server-pid "${SERVER_PID}" --etcd "${ETCD_URL}" \
      --n "${SCALE_N}" --seed artifacts/examples/vm-cirros.yaml --label watch-cache \
      --profile-dir "${OUT}/profiles"
    if [[ "${PROFILE}" == 1 ]]; then
      top inuse "${OUT}/profiles/after-create-heap.pprof" -sample_index=inuse_space -nodecount=25
    fi
    stop_server

    start_server restart "${SCALE_N}"
    stop_server

    start_server no-watch-cache 0 --watch-cache=false
    "${BENCH}" scale "${common[@]}" --server-pid "${SERVER_PID}" --n "${SCALE_N}" \
      --create=false --label etcd
  fi
  stop_server

  # --- micro-benchmarks ---------------------------------------------------------
  if [[ "${MICRO}" == 1 ]]; then
    log "micro-benchmarks (-benchtime ${MICRO_TIME})"
    go test -run '^$' -bench . -benchmem -benchtime "${MICRO_TIME}" \
      ./pkg/registry/virtualmachine/ ./pkg/registry/virtualmachine/storage/ ./pkg/apis/kubevirt/install/ | grep -E '^(Benchmark|pkg:)'
  fi

  echo "BENCH done seconds=$((SECONDS - STARTED)) results=${RESULTS}"
}

main "$@"
