#!/usr/bin/env bash
# Install what pykeepalived needs on a fresh Debian 12 machine (as root) into .venv/ here.
# Idempotent: a second run only checks that everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
    python3 python3-venv python3-pip
    iproute2 iputils-ping arping tcpdump tshark nftables kmod procps time
    keepalived ipvsadm
    qemu-system-x86 busybox-static   # the vm tier: IPVS inside a QEMU VM (tests/vm/run_vm.sh)
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's keepalived package may start a system keepalived; the tests run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet keepalived 2>/dev/null; then
    systemctl stop keepalived || true
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
