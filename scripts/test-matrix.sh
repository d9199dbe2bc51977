#!/bin/sh
# The whole suite on every containerd version, the parts side by side.
#
#   sh scripts/test-matrix.sh [VERSION...]        # default: 1.6 1.7 2.1
#
# Parts: the live suite through ctr and docker on each version (on all but
# the first, without the tests marked `once`); the minutes-long `scale` test
# on the first version; the offline tests. Each live part starts its own
# private containerd and Docker engine in temporary directories, so the parts
# run at once: a live suite keeps about half a core busy, the rest is waiting
# for jobs. Each part's output goes to build/test-<part>.log, printed when all
# are done, then a summary with each part's time; the exit status is non-zero
# if any failed. TEST_MATRIX_SERIAL=1 runs them one after another.
set -u
PYTHON=${PYTHON:-python3}
[ "$#" -gt 0 ] || set -- 1.6 1.7 2.1
first=$1
mkdir -p build

run() {  # run PART PYTEST-ARGS...: output to build/test-PART.log, "PART EXIT SECONDS" to .result
  part=$1
  shift
  start=$(date +%s)
  CONTAINERD_TRACKER_REQUIRE_LIVE=1 "$PYTHON" -m pytest -p no:cacheprovider --durations=25 "$@" \
    >"build/test-$part.log" 2>&1
  echo "$part $? $(( $(date +%s) - start ))" >"build/test-$part.result"
}

part() {  # part NAME PYTEST-ARGS...: in the background unless serial
  echo "== $1: started (build/test-$1.log)"
  if [ "${TEST_MATRIX_SERIAL:-0}" = 1 ]; then
    run "$@"
  else
    run "$@" &
  fi
}

rm -f build/test-*.result build/test-*.log
parts=""
for v in "$@"; do
  if [ "$v" = "$first" ]; then
    part "$v" tests/live --containerd-version="$v" -m "not scale"
  else
    part "$v" tests/live --containerd-version="$v" -m "not scale and not once"
  fi
  parts="$parts $v"
done
part "$first-scale" tests/live --containerd-version="$first" -m scale
# The property tests with twenty times the examples a quick offline run tries.
export CONTAINERD_TRACKER_PROPERTY_SCALE="${CONTAINERD_TRACKER_PROPERTY_SCALE:-2}"
part offline tests/offline
parts="$parts $first-scale offline"
wait

status=0
for p in $parts; do
  echo
  echo "======== $p ========"
  cat "build/test-$p.log"
done
echo
echo "part       exit  seconds  result"
for p in $parts; do
  read -r name rc seconds <"build/test-$p.result" || { name=$p rc=99 seconds=-; }
  summary=$(grep -E '^=+ .*(passed|failed|error).* in ' "build/test-$p.log" | tail -n 1)
  printf '%-10s %-5s %-8s %s\n' "$name" "$rc" "$seconds" "$summary"
  [ "$rc" = 0 ] || status=1
done
exit $status
