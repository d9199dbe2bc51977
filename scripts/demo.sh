#!/bin/sh
# From a clean clone to a real DRMAA2 job on containerd, in one command.
# Debian/Ubuntu, as root. Uses the system containerd when one answers, else
# starts a private one under $DEMO_DIR (left running; scripts/demo-clean.sh
# stops it).
set -eu
cd "$(dirname "$0")/.."
DEMO_DIR=${CONTAINERD_TRACKER_DEMO_DIR:-/tmp/containerd-tracker-demo}
SYSTEM_SOCKET=${CONTAINERD_TRACKER_DEMO_SYSTEM:-/run/containerd/containerd.sock}
PYTHON=${PYTHON:-python3}

sh scripts/setup.sh
if [ -t 1 ]; then
  say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
  say() { printf '\n$ %s\n' "$*"; }
fi

if ctr --address "$SYSTEM_SOCKET" --connect-timeout 2s version >/dev/null 2>&1; then
  ADDRESS=$SYSTEM_SOCKET
  echo "== using the running containerd at $ADDRESS"
else
  ADDRESS=$DEMO_DIR/containerd.sock
  if ! ctr --address "$ADDRESS" --connect-timeout 2s version >/dev/null 2>&1; then
    echo "== no containerd answers at $SYSTEM_SOCKET: starting a private one in $DEMO_DIR"
    mkdir -p "$DEMO_DIR"
    printf 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n' > "$DEMO_DIR/config.toml"
    setsid containerd --config "$DEMO_DIR/config.toml" --root "$DEMO_DIR/root" --state "$DEMO_DIR/state" \
      --address "$ADDRESS" > "$DEMO_DIR/containerd.log" 2>&1 < /dev/null &
    echo $! > "$DEMO_DIR/containerd.pid"
    i=0
    until ctr --address "$ADDRESS" --connect-timeout 1s version >/dev/null 2>&1; do
      i=$((i + 1)); [ "$i" -lt 100 ] || { echo "containerd did not start; see $DEMO_DIR/containerd.log" >&2; exit 1; }
      sleep 0.1
    done
  fi
fi
export CONTAINERD_ADDRESS="$ADDRESS" CONTAINERD_NAMESPACE=containerd-tracker-demo
export CONTAINERD_TRACKER_SESSION=demo CONTAINERD_TRACKER_STATE_DIR="$DEMO_DIR/tracker-state"

if ! ctr images list --quiet | grep -qx docker.io/library/busybox:latest; then
  echo "== building a busybox image from this machine's busybox-static (no registry needed)"
  mkdir -p "$DEMO_DIR"
  "$PYTHON" -m containerd_tracker_cli.testing.busybox_image "$DEMO_DIR/busybox.tar"
  ctr images import "$DEMO_DIR/busybox.tar" >/dev/null
  rm -f "$DEMO_DIR/busybox.tar"
fi

say containerd-tracker run --image busybox --name demo -- sh -c '...'
JOB=$(containerd-tracker run --image busybox --name demo -- \
  sh -c 'echo "hello from a DRMAA2 job on $(hostname)"; sleep 2; echo "bye"; exit 3')
echo "$JOB"
say containerd-tracker state "$JOB"
containerd-tracker state "$JOB"
say containerd-tracker wait "$JOB"
status=0
containerd-tracker wait "$JOB" || status=$?
echo "(wait exited with the job's exit status: $status)"
say containerd-tracker info "$JOB"
containerd-tracker info "$JOB"
say containerd-tracker logs "$JOB"
containerd-tracker logs "$JOB"

cat <<MSG

Done. The same commands work in this shell after:
  export CONTAINERD_ADDRESS=$ADDRESS CONTAINERD_NAMESPACE=containerd-tracker-demo \\
         CONTAINERD_TRACKER_SESSION=demo CONTAINERD_TRACKER_STATE_DIR=$DEMO_DIR/tracker-state
Clean up: containerd-tracker delete $JOB   (or: make demo-clean, which also stops a private containerd)
MSG
