#!/usr/bin/env bash
# Runs make targets one after another, like `make A B C`, and prints how
# long each took and how it ended. Every stage runs even when an earlier one
# failed, so that one run reports them all; the exit status is 1 if any
# failed. A+B runs stages A and B side by side (each line they print starts
# with the stage's name), for stages that mostly wait on servers; each one's
# time is then from the start of the pair to when it ended.
#
# --background CMD runs CMD beside the stages, at the lowest CPU priority
# (nice 19), so that it uses the CPU time the stages leave idle (a test
# waiting on a server, say) without slowing them. `make test` builds in it
# the binaries the later stages need; a stage that needs one before it is
# ready builds it itself or waits for it (hack/build-test-binaries.sh locks
# each). Its output goes to _output/background.log; the summary says how long
# it ran and how it ended, and a failure of it fails the run.
#
# Two Go builds that compile the same packages at the same time both compile
# them (the build cache is filled when a package is done, and nothing is
# shared in between), so the background can wait for a stage: within CMD,
# `hack/run-stages.sh --await STAGE` returns once STAGE has ended (at once
# when run outside run-stages). And the pseudo-stage `background` waits for
# CMD to end, so that a later stage finds what it built instead of building
# it beside it.
#
# Usage: hack/run-stages.sh [--background CMD] STAGE[+STAGE...]...
#        hack/run-stages.sh --await STAGE
set -o nounset -o pipefail
MAKE="${MAKE:-make}"
if [[ "${1:-}" == --await ]]; then
  if [[ -n "${RUN_STAGES_DONE:-}" ]]; then
    until [[ -e "${RUN_STAGES_DONE}/$2" ]]; do sleep 1; done
  fi
  exit 0
fi
background=""
if [[ "${1:-}" == --background ]]; then
  background=$2
  shift 2
fi
# Where each stage leaves a mark when it ends, for --await.
RUN_STAGES_DONE=$(mktemp -d)
export RUN_STAGES_DONE
names=() seconds=() results=()
status=0
start=${SECONDS}
bg_pid=""
if [[ -n "${background}" ]]; then
  mkdir -p _output
  echo "==> background: ${background} (log: _output/background.log)"
  bg_started=${SECONDS}
  # A process group of its own, so that an interrupted run stops it whole.
  setsid nice -n 19 bash -c "${background}" > _output/background.log 2>&1 &
  bg_pid=$!
  trap 'kill -- -"${bg_pid}" 2>/dev/null; rm -rf "${RUN_STAGES_DONE}"; exit 130' INT TERM
fi
trap 'rm -rf "${RUN_STAGES_DONE}"' EXIT
# wait_background waits for the background command and records how it ended.
wait_background() {
  [[ -n "${bg_pid}" ]] || return 0
  if wait "${bg_pid}"; then
    result=ok
  else
    result=FAILED
    status=1
    echo "the background command failed; the end of _output/background.log:"
    tail -n 30 _output/background.log
  fi
  names+=("(background)") seconds+=($((SECONDS - bg_started))) results+=("${result}")
  bg_pid=""
}
# run_one STAGE runs one make target; with a prefix, every line it prints
# starts with [STAGE].
run_one() {
  if [[ "${2:-}" == prefix ]]; then
    "${MAKE}" --no-print-directory "$1" 2>&1 | sed -u "s/^/[$1] /"
    return "${PIPESTATUS[0]}"
  fi
  "${MAKE}" --no-print-directory "$1"
}
for group in "$@"; do
  started=${SECONDS}
  echo "==> ${group}"
  if [[ "${group}" == background ]]; then
    wait_background
    continue
  fi
  IFS=+ read -r -a stages <<< "${group}"
  if [[ ${#stages[@]} -eq 1 ]]; then
    if run_one "${group}"; then result=ok; else result=FAILED; status=1; fi
    names+=("${group}") seconds+=($((SECONDS - started))) results+=("${result}")
    touch "${RUN_STAGES_DONE}/${group}"
    continue
  fi
  # A+B: the stages run side by side; each line they print names its stage.
  pids=()
  for stage in "${stages[@]}"; do
    run_one "${stage}" prefix &
    pids+=($!)
  done
  for i in "${!stages[@]}"; do
    if wait "${pids[$i]}"; then result=ok; else result=FAILED; status=1; fi
    names+=("${stages[$i]}") seconds+=($((SECONDS - started))) results+=("${result}")
    touch "${RUN_STAGES_DONE}/${stages[$i]}"
  done
done
wait_background
echo
echo "Stage timings:"
for i in "${!names[@]}"; do
  printf '  %-26s %5ds  %s\n' "${names[$i]}" "${seconds[$i]}" "${results[$i]}"
done
printf '  %-26s %5ds\n' total "$((SECONDS - start))"
exit ${status}
