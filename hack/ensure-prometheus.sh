#!/usr/bin/env bash
# Makes sure prometheus and promtool are on PATH, for the monitoring tests in
# test/e2e (they check artifacts/components/monitoring with promtool and run
# a real Prometheus against the server). When either is missing it installs
# Debian's prometheus package with apt-get, non-interactively, through sudo
# unless it runs as root. If the install fails it runs apt-get update and
# tries once more. With both present it does nothing.
#
# Usage: hack/ensure-prometheus.sh
set -o errexit -o nounset -o pipefail

have() { command -v "$1" >/dev/null 2>&1; }

if have prometheus && have promtool; then
  exit 0
fi

if ! have apt-get; then
  echo "prometheus and promtool are required, and there is no apt-get to install them:" >&2
  echo "install Prometheus (it ships both) and put them on PATH" >&2
  exit 1
fi

sudo=()
if [[ ${EUID} -ne 0 ]]; then
  have sudo || { echo "installing prometheus needs root, and sudo is missing" >&2; exit 1; }
  sudo=(sudo)
fi

# Wait for another apt or dpkg run instead of failing at once on its lock.
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -q)
install() { "${apt[@]}" install --no-install-recommends prometheus; }

echo "installing Debian's prometheus package (prometheus, promtool)" >&2
if ! install; then
  "${apt[@]}" update
  install
fi

for bin in prometheus promtool; do
  have "${bin}" || { echo "${bin} is still not on PATH after installing prometheus" >&2; exit 1; }
done
prometheus --version 2>&1 | head -n 1 >&2
