#!/bin/sh
# Install what containerd-tracker needs, skipping what is there; with the
# argument "test", also what its live tests need (Debian's Docker engine, to
# test the Docker-compatible backend). Debian/Ubuntu, as root.
set -eu
PYTHON=${PYTHON:-python3}
need=""
command -v containerd >/dev/null 2>&1 || need="$need containerd"
command -v ctr >/dev/null 2>&1 || need="$need containerd"
command -v runc >/dev/null 2>&1 || need="$need runc"
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need="$need busybox-static"
if [ "${1:-}" = test ]; then
  command -v dockerd >/dev/null 2>&1 || need="$need docker.io"
fi
if [ -n "$need" ]; then
  echo "== installing:$need"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
if ! "$PYTHON" -c "import containerd_tracker_cli, sh, pydantic, pytest, pytest_mock" >/dev/null 2>&1; then
  echo "== installing the package (pip install -e .[test])"
  "$PYTHON" -m pip install -q -e '.[test]'
fi
if [ "${1:-}" = test ]; then
  # The containerd versions the live suite runs against (downloaded once, cached).
  sh "$(dirname "$0")/containerd-versions.sh" >/dev/null
fi
