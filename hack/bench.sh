#!/usr/bin/env bash
# Runs the benchmarks (`make bench`): builds the harness,
# test/bench/cmd/vm-bench, and runs `vm-bench run`, which builds
# vm-apiserver, gets etcd from hack/build-test-binaries.sh, starts the
# processes under _output/bench and prints one line per figure ("BENCH ...").
#
# Settings are flags or environment variables (BENCH_CELL, BENCH_SCALE_N...);
# hack/bench.sh --help lists them. A quick run:
#   hack/bench.sh --cell 2s --scale-n 10000 --micro 0
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${ROOT}"

echo "[bench $(date +%T)] building vm-bench" >&2
# -trimpath, as vm-apiserver is built for the run: the two share the build
# cache.
go build -trimpath -o _output/bin/vm-bench ./test/bench/cmd/vm-bench
exec _output/bin/vm-bench run "$@"
