#!/usr/bin/env bash
# A Debian arm64 userland run under qemu-user: the ARM64 "device" of the tests (issue 13), usable by hand.
#
#   scripts/arm64_userland.sh build DIR     debootstrap bookworm arm64 into DIR (~3 min) and a venv DIR/opt/edgekit
#                                           with numpy, typer, rich and ai-edge-litert from aarch64 wheels (~1 min),
#                                           DIR/opt/numpy-only (numpy, no TFLite runtime), and Debian's arm64 adbd
#                                           from bookworm-backports (the "phone" of the adb tier, tests/adbd.py)
#   scripts/arm64_userland.sh mount DIR     bind /proc and /dev into DIR (never /sys: see below)
#   scripts/arm64_userland.sh umount DIR    undo mount
#   scripts/arm64_userland.sh install DIR WHEEL   pip install an edgekit wheel into the venv (no network)
#   scripts/arm64_userland.sh remove DIR    unmount, then delete DIR without crossing into other file systems
#   scripts/arm64_userland.sh binfmt        mount binfmt_misc and register qemu-aarch64 (needs root)
#
# Needs root, debootstrap and qemu-user-static (apt-get install qemu-user-static debootstrap).
# Traps, each of which cost us an afternoon:
#  - with /sys mounted in the chroot, XNNPACK's cpuinfo reads the host's CPU topology and segfaults under qemu;
#    bind /proc and /dev only;
#  - pip inside the userland fails certificate checks unless the host's resolv.conf, pip configuration and CA
#    bundle are copied in;
#  - never `rm -rf` the userland while /dev is bind-mounted inside it (it would delete the host's device nodes):
#    `remove` unmounts first and uses rm -rf --one-file-system.
set -euo pipefail

SUITE=bookworm
MIRROR=${ARM64_MIRROR:-http://deb.debian.org/debian}
VENV=/opt/edgekit
NUMPY_ONLY=/opt/numpy-only
PACKAGES="numpy typer rich ai-edge-litert"

die() { echo "arm64_userland: $*" >&2; exit 1; }

binfmt() {
    [ "$(id -u)" = 0 ] || die "needs root to register qemu-aarch64 with binfmt_misc"
    local conf=/usr/lib/binfmt.d/qemu-aarch64.conf
    [ -f "$conf" ] || die "$conf is missing: apt-get install qemu-user-static"
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
            || die "cannot mount binfmt_misc on /proc/sys/fs/binfmt_misc (a container without that privilege?)"
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        cat "$conf" > /proc/sys/fs/binfmt_misc/register || die "cannot register $conf with binfmt_misc"
    fi
    grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || die "binfmt qemu-aarch64 is registered but disabled"
}

is_mounted() { mountpoint -q "$1"; }

do_mount() {
    local dir=$1
    is_mounted "$dir/proc" || mount -t proc proc "$dir/proc"
    is_mounted "$dir/dev" || mount --bind /dev "$dir/dev"
    is_mounted "$dir/dev/pts" || mount --bind /dev/pts "$dir/dev/pts"
}

do_umount() {
    local dir=$1 m
    for m in dev/pts dev proc; do
        if is_mounted "$dir/$m"; then umount "$dir/$m" || umount -l "$dir/$m"; fi
    done
}

net_config() {
    # resolver, pip configuration and CA bundle, so pip inside can reach PyPI through the same proxy/CA
    local dir=$1
    cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
    mkdir -p "$dir/etc/ssl/certs"
    cp -L /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
    [ -f /etc/pip.conf ] && cp -L /etc/pip.conf "$dir/etc/pip.conf"
    return 0
}

chrun() { local dir=$1; shift; chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 "$@"; }

build() {
    local dir=$1
    [ -e "$dir" ] && die "$dir exists; remove it first ($0 remove $dir)"
    binfmt
    command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
    local tmp="$dir.partial"
    [ -e "$tmp" ] && remove "$tmp"
    mkdir -p "$tmp"
    debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,openssh-server \
        "$SUITE" "$tmp" "$MIRROR"
    net_config "$tmp"
    do_mount "$tmp"
    trap 'do_umount "'"$tmp"'"' EXIT
    # adbd (arm64) from bookworm-backports: the adb tier's phone runs in this userland, as sshd does
    echo "deb $MIRROR $SUITE-backports main" > "$tmp/etc/apt/sources.list.d/backports.list"
    chrun "$tmp" apt-get update -qq
    chrun "$tmp" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -t "$SUITE-backports" adbd
    chrun "$tmp" python3 -m venv "$VENV"
    chrun "$tmp" "$VENV/bin/pip" install -q $PACKAGES
    # a second Python that sees numpy but no TFLite runtime: the "runtime missing" device of the tests
    chrun "$tmp" python3 -m venv --without-pip "$NUMPY_ONLY"
    chrun "$tmp" sh -c 'site=$(echo '"$VENV"'/lib/python3*/site-packages); mkdir -p /opt/numpy-view &&
        for e in "$site"/numpy*; do ln -s "$e" /opt/numpy-view/; done &&
        echo /opt/numpy-view > $(echo '"$NUMPY_ONLY"'/lib/python3*/site-packages)/numpy_view.pth'
    do_umount "$tmp"
    trap - EXIT
    mv "$tmp" "$dir"
}

install_wheel() {
    local dir=$1 wheel=$2
    mkdir -p "$dir/tmp/edgekit-wheel"
    rm -f "$dir"/tmp/edgekit-wheel/*.whl
    cp "$wheel" "$dir/tmp/edgekit-wheel/"
    # --no-index: the light dependencies (numpy, typer, rich, ai-edge-litert) are already in the venv, so this is
    # `pip install edgekit` resolving them offline; a missing one is an error here, not a download
    chrun "$dir" "$VENV/bin/pip" uninstall -q -y edgekit >/dev/null 2>&1 || true
    chrun "$dir" "$VENV/bin/pip" install -q --no-index "/tmp/edgekit-wheel/$(basename "$wheel")"
    chrun "$dir" "$VENV/bin/pip" check
}

remove() {
    local dir=$1
    do_umount "$dir"
    for m in proc dev; do
        ! is_mounted "$dir/$m" || die "$dir/$m is still mounted; not deleting"
    done
    rm -rf --one-file-system "$dir"
}

cmd=${1:-}; shift || true
case "$cmd" in
    build) build "${1:?DIR}" ;;
    mount) binfmt; do_mount "${1:?DIR}" ;;
    umount) do_umount "${1:?DIR}" ;;
    install) install_wheel "${1:?DIR}" "${2:?WHEEL}" ;;
    remove) remove "${1:?DIR}" ;;
    binfmt) binfmt ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
esac
