#!/bin/sh
# The containerd versions the suite runs against, one command away.
#
#   sh scripts/containerd-versions.sh [VERSION...]    # default: 1.6 1.7 2.1
#
# Prints "VERSION BINDIR" per line; BINDIR holds containerd, ctr and
# containerd-shim-runc-v2 of that version (put it first on PATH). The
# system's own containerd is used when its ctr is of that version;
# otherwise Debian's package of it (1.6 bookworm, 1.7 trixie, 2.1 sid) is
# downloaded once with a separate sources list and lists dir, unpacked
# with dpkg -x, and cached in $CONTAINERD_VERSIONS_CACHE (default
# /var/cache/containerd-tracker/versions). Their binaries run on Debian 12
# with the system runc (sid's runc needs a newer glibc). Root, Debian.
set -eu

CACHE=${CONTAINERD_VERSIONS_CACHE:-/var/cache/containerd-tracker/versions}
[ "$#" -gt 0 ] || set -- 1.6 1.7 2.1

suite_of() {
  case "$1" in
    1.6) echo bookworm ;;
    1.7) echo trixie ;;
    2.1) echo sid ;;
    *) echo "unknown containerd version '$1' (known: 1.6 1.7 2.1)" >&2; return 2 ;;
  esac
}

# The mirror this machine's own Debian sources use.
mirror() {
  uri=$(grep -hs '^URIs:.*debian$' /etc/apt/sources.list.d/*.sources | head -n 1 | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hs '^deb .*debian[/ ]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                         | grep -v security | head -n 1 | awk '{print $2}')
  echo "${uri:-http://deb.debian.org/debian}"
}

fetch() {  # fetch VERSION SUITE -> unpacked binaries in $CACHE/VERSION/bin
  version=$1 suite=$2 dir=$CACHE/$1
  if [ -x "$dir/bin/ctr" ] && [ -x "$dir/bin/containerd" ] && [ -x "$dir/bin/containerd-shim-runc-v2" ]; then
    return 0
  fi
  echo "== downloading containerd $version (Debian $suite) into $dir" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  echo "deb $(mirror) $suite main" > "$work/sources.list"
  apt_opts="-o Dir::Etc::SourceList=$work/sources.list -o Dir::Etc::SourceParts=/dev/null
            -o Dir::State::Lists=$work/lists -o Dir::Cache::Archives=$work/archives
            -o APT::Sandbox::User=root"
  # shellcheck disable=SC2086
  apt-get $apt_opts update -qq >&2
  # shellcheck disable=SC2086
  (cd "$work" && apt-get $apt_opts download containerd >&2)
  dpkg -x "$work"/containerd_*.deb "$work/root"
  rm -rf "$dir.new" && mkdir -p "$dir.new/bin"
  for tool in containerd ctr containerd-shim-runc-v2; do
    cp "$work/root/usr/bin/$tool" "$dir.new/bin/$tool"
  done
  rm -rf "$dir" && mv "$dir.new" "$dir"
  rm -rf "$work"
  trap - EXIT
}

# "1.7.24~ds1" from "ctr github.com/containerd/containerd 1.7.24~ds1"
ctr_version() { "$1" --version 2>/dev/null | awk '{print $NF}' | sed 's/^v//'; }

if ! command -v runc >/dev/null 2>&1; then
  echo "== installing runc" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runc >/dev/null
fi

for version in "$@"; do
  suite=$(suite_of "$version")
  system=$(command -v ctr || true)
  case "$( [ -n "$system" ] && ctr_version "$system")" in
    "$version".*)
      command -v containerd >/dev/null 2>&1 && command -v containerd-shim-runc-v2 >/dev/null 2>&1 \
        && { echo "$version $(dirname "$system")"; continue; } ;;
  esac
  fetch "$version" "$suite"
  case "$(ctr_version "$CACHE/$version/bin/ctr")" in
    "$version".*) echo "$version $CACHE/$version/bin" ;;
    *) echo "$CACHE/$version/bin/ctr is not containerd $version" >&2; exit 1 ;;
  esac
done
