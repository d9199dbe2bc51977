#!/bin/sh
# Install what containerd-tracker and its tests need, skipping what is there.
# Debian/Ubuntu, as root.
set -eu
PYTHON=${PYTHON:-python3}
need=""
command -v containerd >/dev/null 2>&1 || need="$need containerd"
command -v ctr >/dev/null 2>&1 || need="$need containerd"
command -v runc >/dev/null 2>&1 || need="$need runc"
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need="$need busybox-static"
if [ -n "$need" ]; then
  echo "== installing:$need"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
if ! "$PYTHON" -c "import containerd_tracker_cli, sh, pydantic, pytest, pytest_mock" >/dev/null 2>&1; then
  echo "== installing the package (pip install -e .[test])"
  "$PYTHON" -m pip install -q -e '.[test]'
fi
