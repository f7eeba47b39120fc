#!/usr/bin/env bash
# Run the IPVS tests (pytest -m vm) inside a throwaway QEMU VM booted from Debian's kernel,
# then the ipvlan tests (the host's kernel has no ipvlan either).
#
#   bash tests/vm/run_vm.sh [--bench] [extra pytest args]
#
# The host's kernel has no IPVS; Debian's generic kernel has it as modules. This script:
#   1. installs what it needs (qemu-system-x86 kmod ipvsadm busybox-static keepalived nftables,
#      and virtme-ng into the project's .venv),
#   2. downloads the generic linux-image-<ver>-amd64 named by linux-image-amd64 into
#      $PYKA_VM_CACHE (default /opt/pykeepalived-vm: /var/cache is a tmpfs in the guest),
#      unpacks it and runs depmod on it (nothing is installed into the host's /lib/modules),
#   3. boots it with vng (software emulation, the host's root filesystem shared read-only),
#      runs `pytest -m vm tests/vm` and `pytest tests/netns/vrrp4/test_ipvlan.py` inside (and
#      bench/reconcile.py --backend ipvs with --bench),
#   4. prints the guest's output and exits with the first failing pytest's exit code (124 on
#      time-out).
# Environment: PYKA_VM_TIMEOUT_S (default 1200), PYKA_VM_MEMORY (default 2G).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
VENV="$REPO/.venv"
CACHE=${PYKA_VM_CACHE:-/opt/pykeepalived-vm}
TIMEOUT_S=${PYKA_VM_TIMEOUT_S:-1200}
MEMORY=${PYKA_VM_MEMORY:-2G}
BENCH=0
if [[ "${1:-}" == "--bench" ]]; then BENCH=1; shift; fi

need=()
for pair in qemu-system-x86_64:qemu-system-x86 modprobe:kmod ipvsadm:ipvsadm \
            busybox:busybox-static keepalived:keepalived nft:nftables; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || [[ -x "/usr/sbin/${pair%%:*}" ]] \
        || [[ -x "/bin/${pair%%:*}" ]] || need+=("${pair##*:}")
done
if (( ${#need[@]} )); then
    echo "run_vm: installing ${need[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2
fi
if [[ ! -x "$VENV/bin/vng" ]]; then
    echo "run_vm: installing virtme-ng into $VENV" >&2
    "$VENV/bin/python" -m pip install -q virtme-ng >&2
fi

PKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[[ -n "$PKG" ]] || { echo "run_vm: cannot resolve the linux-image-amd64 kernel" >&2; exit 2; }
VER=${PKG#linux-image-}
KDIR="$CACHE/kdir-$VER"
if [[ ! -f "$KDIR/lib/modules/$VER/modules.dep" ]]; then
    mkdir -p "$CACHE"
    (cd "$CACHE" && rm -f "$PKG"_*.deb && apt-get download "$PKG" >&2)
    rm -rf "$KDIR.tmp" && dpkg-deb -x "$CACHE/$PKG"_*.deb "$KDIR.tmp"
    depmod -b "$KDIR.tmp" "$VER"
    rm -rf "$KDIR" && mv "$KDIR.tmp" "$KDIR"
fi

OUT=$(mktemp -d /tmp/pyka-vm.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
# vng points /lib/modules/<ver> at the kernel's own tree; the link is made again in case a
# read-write overlay hides it.
GUEST="set +e
mkdir -p /lib/modules && ln -sfn $KDIR/lib/modules/$VER /lib/modules/$VER
modprobe ip_vs
modprobe ipvlan
cd $REPO
export PYTHONDONTWRITEBYTECODE=1 PYKA_IN_VM=1 HYPOTHESIS_STORAGE_DIRECTORY=$OUT/hypothesis
$VENV/bin/python -m pytest -m vm tests/vm -p no:cacheprovider $* > $OUT/log 2>&1
rc=\$?
$VENV/bin/python -m pytest tests/netns/vrrp4/test_ipvlan.py -p no:cacheprovider >> $OUT/log 2>&1
rc_ipvlan=\$?
[ \$rc = 0 ] && rc=\$rc_ipvlan
echo \$rc > $OUT/rc
if [ $BENCH = 1 ]; then $VENV/bin/python bench/reconcile.py --backend ipvs >> $OUT/log 2>&1; fi
"
echo "run_vm: booting $VER (timeout ${TIMEOUT_S}s)" >&2
set +e
# QEMU opens the console as the file /proc/self/fd/1 (truncating it when it is a regular file,
# e.g. a CI log that already holds the host tiers' output): give it a pipe instead.
PATH="$VENV/bin:$PATH" timeout --kill-after=30 "$TIMEOUT_S" vng --run "$KDIR/boot/vmlinuz-$VER" \
    --disable-kvm --user root --memory "$MEMORY" --cpus 2 --rwdir "$OUT" --exec "$GUEST" 2>&1 \
    | cat >&2
VNG_RC=${PIPESTATUS[0]}
set -e
cat "$OUT/log" 2>/dev/null || true
if [[ $VNG_RC == 124 ]]; then echo "run_vm: time-out after ${TIMEOUT_S}s" >&2; exit 124; fi
if [[ ! -s "$OUT/rc" ]]; then echo "run_vm: the guest did not report (vng exit $VNG_RC)" >&2; exit 3; fi
exit "$(cat "$OUT/rc")"
