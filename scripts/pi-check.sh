#!/bin/sh
# `make pi-check`: does the kiosk install and run on a Raspberry Pi's software?  (not part of make test)
#
# Builds an arm64 Debian bookworm root (Raspberry Pi OS's base) with debootstrap, runs it under
# qemu-user-static, installs the kiosk in it with systemd/install.sh from a clean clone of this
# repository's HEAD (committed work only), then runs `kiosk doctor` and a headless tour pass inside,
# and finally reinstalls from a wheelhouse with the network cut off (install.sh --wheelhouse).
# Idempotent: the root is kept and reused (PI_ROOT, default /var/tmp/kiosk-pi/root); each run
# re-clones the source and re-runs the installer over the previous install, as an upgrade would.
# Prints each step's time; exits non-zero at the first failure.  Needs root (debootstrap, chroot).
#
#   PI_ROOT=/path  PI_MIRROR=http://deb.debian.org/debian  PI_TOUR_PASS=standard  sh scripts/pi-check.sh
#   PI_FRESH=1 sh scripts/pi-check.sh     throw the root away and start from debootstrap
#   PI_STEPS="clone install doctor" ...   only these steps (default: clone install doctor tour wheels
#                                         offline; offline = reinstall from a wheelhouse, no network)
set -eu

SRC="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="${PI_ROOT:-/var/tmp/kiosk-pi/root}"
MIRROR="${PI_MIRROR:-http://deb.debian.org/debian}"
TOUR_PASS="${PI_TOUR_PASS:-standard}"
LOG_DIR="$(dirname "$ROOT")/logs"
T_START=$(date +%s)

say() { echo "pi-check: $*"; }
die() { echo "pi-check: FAILED: $*" >&2; exit 1; }
# step NAME COMMAND...: run, time, log; stop at the first failure.  set -e does not apply inside a
# function run as an `if` condition, so every command of a step function ends in "|| return 1".
step() {
    name="$1"; shift
    t0=$(date +%s)
    say "[$name] ..."
    if "$@" >"$LOG_DIR/$name.log" 2>&1; then
        say "[$name] ok in $(( $(date +%s) - t0 )) s"
    else
        rc=$?
        tail -n 30 "$LOG_DIR/$name.log" >&2
        die "[$name] exit $rc after $(( $(date +%s) - t0 )) s (full log: $LOG_DIR/$name.log)"
    fi
}

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
[ "$(uname -m)" = aarch64 ] && say "note: this host is arm64 already; no emulation needed"
mkdir -p "$LOG_DIR"

host_tools() {
    need=""
    command -v debootstrap >/dev/null || need="$need debootstrap"
    command -v qemu-aarch64-static >/dev/null || need="$need qemu-user-static"
    command -v update-binfmts >/dev/null || need="$need binfmt-support"
    if [ -n "$need" ]; then
        apt-get update -qq || return 1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need || return 1
    fi
    if [ "$(uname -m)" != aarch64 ]; then
        [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
            || return 1
        update-binfmts --enable qemu-aarch64 2>/dev/null || true
        grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || { echo "qemu-aarch64 binfmt not enabled"; return 1; }
    fi
}

bootstrap() {
    if [ -f "$ROOT/.kiosk-debootstrap-done" ]; then
        echo "reusing $ROOT"
        return 0
    fi
    rm -rf "$ROOT"
    # minbase + systemd: Raspberry Pi OS Lite has systemd installed but, in an image build or a
    # chroot, not running — exactly the case install.sh must cope with.
    debootstrap --arch=arm64 --variant=minbase --include=systemd,systemd-sysv,ca-certificates,dbus \
        bookworm "$ROOT" "$MIRROR" || return 1
    touch "$ROOT/.kiosk-debootstrap-done"
}

MOUNTED=""
mount_root() {
    for d in proc sys dev dev/pts; do
        mountpoint -q "$ROOT/$d" && continue
        case "$d" in
            proc) mount -t proc proc "$ROOT/proc" ;;
            sys) mount -t sysfs sys "$ROOT/sys" ;;
            dev) mount --bind /dev "$ROOT/dev" ;;
            dev/pts) mount -t devpts devpts "$ROOT/dev/pts" ;;
        esac
        MOUNTED="$d $MOUNTED"
    done
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    # Behind a TLS-inspecting proxy the host trusts extra CAs: the root needs them too, for apt
    # and pip (pip.conf points pip at the system store instead of its own bundle).
    if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
        mkdir -p "$ROOT/usr/local/share/ca-certificates"
        new_ca=""
        for crt in /usr/local/share/ca-certificates/*.crt; do
            cmp -s "$crt" "$ROOT/usr/local/share/ca-certificates/${crt##*/}" && continue
            cp "$crt" "$ROOT/usr/local/share/ca-certificates/" && new_ca=1
        done
        [ -n "$new_ca" ] && { chroot "$ROOT" update-ca-certificates >/dev/null 2>&1 || true; }
        printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$ROOT/etc/pip.conf"
    fi
    # Daemons must not start inside the root (policy-rc.d, as in Debian's image builders).
    printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
    chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
}
umount_root() {
    for d in $MOUNTED; do umount -l "$ROOT/$d" 2>/dev/null || true; done
}
trap umount_root EXIT INT TERM

clone() {
    rm -rf "$ROOT/opt/kiosk-src"
    git clone --quiet --no-hardlinks "$SRC" "$ROOT/opt/kiosk-src" || return 1
    git -C "$ROOT/opt/kiosk-src" log --oneline -1
}

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

install_kiosk() {
    # --no-hw-watchdog: the root has no watchdog device; everything else as on a Pi.
    in_root sh /opt/kiosk-src/systemd/install.sh --no-hw-watchdog || return 1
    in_root test -L /etc/systemd/system/multi-user.target.wants/kiosk.service
}

doctor() {
    # As the kiosk user, from a directory it cannot write (lgpio used to leave its notification
    # pipe in the working directory and doctor blamed the gpio group), and typed as
    # docs/deployment.md types it: `kiosk` found on the PATH (sudo's secure_path has /usr/local/bin).
    in_root sh -c 'cd / && PATH=/usr/local/bin:$PATH runuser -u kiosk -- kiosk doctor --no-ils \
        --config /etc/kiosk/kiosk.toml --set hardware.simulate=true'
}

tour() {
    rm -rf "$ROOT/tmp/pi-tour"
    # Emulated arm64 is some 20 times slower: the tour's waits for a screen are scaled accordingly.
    # Its patron session still times out in real seconds (32 s), which emulation can overrun at a
    # slow moment: a failed pass is run once more, and the log says so.
    for attempt in 1 2; do
        if in_root sh -c "cd /tmp && KIOSK_TIMEOUT_SCALE=${PI_TIMEOUT_SCALE:-20} SDL_VIDEODRIVER=offscreen \
                /opt/kiosk/venv/bin/python -m kiosk.ui.tour --pass $TOUR_PASS --out /tmp/pi-tour"; then
            break
        fi
        [ "$attempt" = 2 ] && return 1
        echo "tour attempt 1 failed (see above); running the pass once more"
    done
    n=$(find "$ROOT/tmp/pi-tour" -name '*.png' | wc -l)
    echo "$n screenshots in $ROOT/tmp/pi-tour"
    [ "$n" -ge 5 ] || { echo "expected at least 5 screenshots"; return 1; }
}

wheels() {
    # Which requirements come as aarch64/pure wheels and which are built from source (sdists):
    # pip's installation report for the same requirements, resolved afresh against the index
    # (mfrc522, installed with --no-deps, is a pure-Python wheel; its RPi.GPIO is never installed).
    in_root sh -c '/opt/kiosk/venv/bin/python -m pip install -q --dry-run --ignore-installed \
        --report /tmp/pip-report.json "/opt/kiosk-src[pi]" >/dev/null' || return 1
    in_root /opt/kiosk/venv/bin/python -c '
import json
r = json.load(open("/tmp/pip-report.json"))
for i in sorted(r["install"], key=lambda i: i["metadata"]["name"].lower()):
    url, meta = i["download_info"]["url"], i["metadata"]
    kind = "local" if url.startswith("file:") else ("wheel" if url.endswith(".whl") else "sdist")
    print(meta["name"].ljust(24), meta["version"].ljust(14), kind.ljust(6), url.rsplit("/", 1)[-1])
'
}

offline_install() {
    # A site without internet on the kiosk network: fill a wheelhouse (here, inside the arm64 root
    # itself, as docs/deployment.md says), throw the venv away, and reinstall with the network cut
    # off (a new network namespace has only a down loopback): only --wheelhouse can work.
    in_root sh -c 'set -e; rm -rf /tmp/wheelhouse; W="/opt/kiosk/venv/bin/python -m pip wheel -q -w /tmp/wheelhouse"
        $W "/opt/kiosk-src[pi]" setuptools wheel; $W --no-deps "mfrc522==0.0.7"' || return 1
    in_root rm -rf /opt/kiosk/venv || return 1
    unshare --net chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        sh /opt/kiosk-src/systemd/install.sh --no-apt --no-hw-watchdog --wheelhouse /tmp/wheelhouse || return 1
    in_root /opt/kiosk/venv/bin/kiosk config check /etc/kiosk/kiosk.toml || return 1
    ls "$ROOT/tmp/wheelhouse" | sed 's/^/wheelhouse: /'
}

[ -n "${PI_FRESH:-}" ] && rm -rf "$ROOT"
mkdir -p "$(dirname "$ROOT")"
step host-tools host_tools
step debootstrap bootstrap
mount_root
STEPS=" ${PI_STEPS:-clone install doctor tour wheels offline} "
want() { case "$STEPS" in *" $1 "*) return 0 ;; *) say "[$1] skipped (PI_STEPS)"; return 1 ;; esac; }
if want clone; then step clone clone; fi
if want install; then step install install_kiosk; fi
if want doctor; then step doctor doctor; fi
if want tour; then step tour tour; fi
if want wheels; then step wheels wheels; cat "$LOG_DIR/wheels.log"; fi
if want offline; then step offline offline_install; fi
say "all steps passed in $(( $(date +%s) - T_START )) s (logs in $LOG_DIR)"
