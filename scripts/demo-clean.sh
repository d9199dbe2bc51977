#!/bin/sh
# Undo scripts/demo.sh: remove the demo's jobs, stop the private containerd it started.
set -u
DEMO_DIR=${CONTAINERD_TRACKER_DEMO_DIR:-/tmp/containerd-tracker-demo}
SYSTEM_SOCKET=${CONTAINERD_TRACKER_DEMO_SYSTEM:-/run/containerd/containerd.sock}
for address in "$SYSTEM_SOCKET" "$DEMO_DIR/containerd.sock"; do
  ctr --address "$address" --connect-timeout 2s version >/dev/null 2>&1 || continue
  export CONTAINERD_ADDRESS="$address" CONTAINERD_NAMESPACE=containerd-tracker-demo
  export CONTAINERD_TRACKER_SESSION=demo CONTAINERD_TRACKER_STATE_DIR="$DEMO_DIR/tracker-state"
  for job in $(containerd-tracker list 2>/dev/null); do
    containerd-tracker terminate "$job" >/dev/null 2>&1
    containerd-tracker delete "$job"
  done
done
if [ -f "$DEMO_DIR/containerd.pid" ]; then
  kill "$(cat "$DEMO_DIR/containerd.pid")" 2>/dev/null && echo "stopped the private containerd"
  sleep 1
  grep -o " $DEMO_DIR[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
fi
rm -rf "$DEMO_DIR"
echo "demo cleaned up"
