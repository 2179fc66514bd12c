#!/bin/sh
# Install libkiosk as an appliance on Raspberry Pi OS Lite (Bookworm or Trixie, 64-bit).
#
#   sudo sh systemd/install.sh            install or upgrade from this source tree, enable the unit
#   sudo sh systemd/install.sh --start    ... and (re)start the kiosk now
#   sh systemd/install.sh --dry-run       print what would be done, change nothing (no root needed)
#   options: --no-apt (skip apt-get), --no-hw-watchdog (leave system.conf alone)
#            --wheelhouse DIR  install Python packages only from DIR (no internet on the kiosk network;
#                              docs/deployment.md says how to fill it on any arm64 machine)
#            --read-only-root  protect the SD card: overlay root file system at the next boot
#                              (raspi-config's overlay, else overlayroot); /var/lib/kiosk stays writable
#
# Without a running systemd (building an image, a chroot) units are enabled offline (symlinks) and
# nothing is started; the installer says so.
#
# What it does (docs/deployment.md explains each step):
#   1. apt: python3-venv and the libraries Kivy's wheel needs on a Lite image (GL/EGL/GLES, mtdev, DRM)
#   2. the system user `kiosk` in groups gpio spi dialout video render input (missing groups created)
#   3. a venv in /opt/kiosk/venv with this source tree installed, with the [pi] drivers; the `kiosk`
#      command linked into /usr/local/bin (so `kiosk doctor`, `kiosk staff hash-pin` work as typed);
#      the kv files' parse (the kiosk's, Kivy's style.kv) kept beside the .pyc files (python -m kiosk.ui.kvcache)
#   4. /etc/kiosk (config, secrets) and /var/lib/kiosk (data), owned by kiosk, mode 0700;
#      every file in /etc/kiosk gets mode 0600: library-system credentials and staff PIN hashes
#      must be readable by the kiosk user only (the kiosk refuses to start otherwise)
#   5. the unit (enabled; getty on tty1 disabled), journald in RAM (no patron traces on the SD card),
#      the hardware watchdog
#   6. the display: no console blanking, no text cursor (kernel command line)
#   7. with --read-only-root: the overlay root file system
set -eu

SRC="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=/opt/kiosk
CONF_DIR=/etc/kiosk
DATA_DIR=/var/lib/kiosk
KIOSK_USER=kiosk
GROUPS="gpio spi dialout video render input"
DRY=""; APT=1; START=""; HW_WATCHDOG=1; WHEELHOUSE=""; RO_ROOT=""

while [ $# -gt 0 ]; do
    arg="$1"; shift
    case "$arg" in
        --dry-run) DRY=1 ;;
        --wheelhouse) [ $# -gt 0 ] || { echo "install.sh: --wheelhouse needs a directory" >&2; exit 2; }
                      WHEELHOUSE="$(cd "$1" && pwd)"; shift ;;
        --wheelhouse=*) WHEELHOUSE="$(cd "${arg#--wheelhouse=}" && pwd)" ;;
        --read-only-root) RO_ROOT=1 ;;
        --no-apt) APT="" ;;
        --start) START=1 ;;
        --no-hw-watchdog) HW_WATCHDOG="" ;;
        -h|--help) awk 'NR > 1 { if (!/^#/) exit; print }' "$0"; exit 0 ;;   # the comment above
        *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

run() {  # every change goes through here, so --dry-run shows the whole plan
    if [ -n "$DRY" ]; then echo "+ $*"; else "$@"; fi
}
say() { echo "install.sh: $*"; }

# Is systemd running here (sd_booted(3))?  Not in a chroot, a container image build or a Pi image
# being prepared on another machine: then units are enabled offline and nothing is started.
# KIOSK_SYSTEMD_RUNNING=0|1 overrides the check (tests, unusual hosts).
SYSTEMD_UP=""
[ -d /run/systemd/system ] && SYSTEMD_UP=1
case "${KIOSK_SYSTEMD_RUNNING:-}" in 1) SYSTEMD_UP=1 ;; 0) SYSTEMD_UP="" ;; esac

if [ -z "$DRY" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (sudo sh systemd/install.sh), or with --dry-run to see the plan" >&2
    exit 1
fi

# --read-only-root: checked before anything changes.  The journal needs a file system that honours
# fsync and survives a reboot; the overlay keeps its upper layer in RAM, so /var/lib/kiosk (and
# /etc/kiosk, which staff settings write) must be on their own partition, mounted by fstab.
FSTAB="${KIOSK_FSTAB:-/etc/fstab}"
if [ -n "$RO_ROOT" ] && ! awk '$2 == "/var/lib/kiosk" {found=1} END {exit !found}' "$FSTAB" 2>/dev/null; then
    say "--read-only-root: /var/lib/kiosk has no entry in $FSTAB.  Make a data partition first, e.g."
    say "  mkfs.ext4 -L kiosk-data /dev/mmcblk0p3 and in /etc/fstab:"
    say "  LABEL=kiosk-data /var/lib/kiosk ext4 defaults,noatime,data=ordered,errors=remount-ro 0 2"
    say "  (the journal is on it: ext4 honours fsync, which the journal relies on)"
    exit 1
fi

codename=unknown
[ -r /etc/os-release ] && codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")"
case "$codename" in
    bookworm|trixie) say "Raspberry Pi OS / Debian $codename" ;;
    *) say "warning: tested on Bookworm and Trixie only; this is '$codename'" ;;
esac

# 1. system packages ------------------------------------------------------------------------------
if [ -n "$APT" ]; then
    # Names valid on both Bookworm and Trixie (libgl1-mesa-glx etc. from older Kivy docs are gone).
    # gcc + libc6-dev + python3-dev: evdev and spidev publish no aarch64 wheels, pip builds them.
    PKGS="python3 python3-venv python3-dev gcc libc6-dev libgl1 libegl1 libgles2 libgbm1 libdrm2 libmtdev1 libgl1-mesa-dri"
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS
    # speech output ([speech] in kiosk.toml, kiosk/speech/): espeak-ng, offline, en/de/es/fr voices
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends espeak-ng
fi

# 2. user and groups -----------------------------------------------------------------------------
for g in $GROUPS; do
    getent group "$g" >/dev/null 2>&1 || run groupadd --system "$g"
done
if ! getent passwd "$KIOSK_USER" >/dev/null 2>&1; then
    run useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
        --shell /usr/sbin/nologin --comment "libkiosk self-service kiosk" "$KIOSK_USER"
fi
run usermod --append --groups "$(echo $GROUPS | tr ' ' ',')" "$KIOSK_USER"

# 3. venv and the kiosk itself ---------------------------------------------------------------------
run mkdir -p "$PREFIX" "$PREFIX/docs"
[ -x "$PREFIX/venv/bin/python" ] || run python3 -m venv "$PREFIX/venv"
PIP="$PREFIX/venv/bin/python -m pip"
if [ -n "$WHEELHOUSE" ]; then
    # Offline: only what the wheelhouse holds (setuptools and wheel included: the kiosk and the
    # drivers without aarch64 wheels are built here).
    say "installing Python packages from $WHEELHOUSE only (no index)"
    PIP_FLAGS="--no-index --find-links $WHEELHOUSE"
else
    PIP_FLAGS=""
    run $PIP install -q --upgrade pip
fi
# shellcheck disable=SC2086 # PIP and PIP_FLAGS are word lists
run $PIP install -q $PIP_FLAGS --upgrade "$SRC[pi]"
# The mfrc522 package ([card_reader] driver = "mfrc522-package") declares a dependency on RPi.GPIO,
# which conflicts with rpi-lgpio from [pi] (both install the RPi.GPIO module; only rpi-lgpio works
# on a Pi 5), so it cannot be in the extra: install it alone.  Its other dependency, spidev, is in [pi].
# shellcheck disable=SC2086
run $PIP install -q $PIP_FLAGS --no-deps "mfrc522==0.0.7"
# The kv files' parse (the kiosk's and Kivy's own style.kv) kept beside pip's .pyc files
# (kiosk/ui/kvcache.py): the kiosk runs as its own user and cannot write into root's venv, and
# parsing them costs every start ~25 ms and ~230 ms of a Pi 4 core.
run "$PREFIX/venv/bin/python" -m kiosk.ui.kvcache
run cp "$SRC/docs/deployment.md" "$PREFIX/docs/deployment.md"
# The docs type `kiosk doctor`, `kiosk staff hash-pin`, `sudo -u kiosk kiosk staff unlock`: put the
# command on every user's PATH (systemd itself starts the venv's copy by its full path).
run ln -sf "$PREFIX/venv/bin/kiosk" /usr/local/bin/kiosk

# 4. config, secrets and data ----------------------------------------------------------------------
run install -d -m 0700 -o "$KIOSK_USER" -g "$KIOSK_USER" "$CONF_DIR" "$DATA_DIR" "$DATA_DIR/kivy"
if [ ! -e "$CONF_DIR/kiosk.toml" ]; then
    say "new $CONF_DIR/kiosk.toml from config/kiosk.example.toml: edit [ils] before starting"
    run install -m 0600 -o "$KIOSK_USER" -g "$KIOSK_USER" "$SRC/config/kiosk.example.toml" "$CONF_DIR/kiosk.toml"
fi
if [ ! -e "$CONF_DIR/ils-password" ]; then
    # An empty password file with the right owner and mode: staff put the SIP2 password in it and
    # set [ils] password_file = "/etc/kiosk/ils-password".
    run install -m 0600 -o "$KIOSK_USER" -g "$KIOSK_USER" /dev/null "$CONF_DIR/ils-password"
fi
# Whatever is already there (kiosk.toml with hashes, ils-password, smtp-password, TLS keys): 0600.
run find "$CONF_DIR" -type f -exec chmod 0600 {} +
run chown -R "$KIOSK_USER:$KIOSK_USER" "$CONF_DIR" "$DATA_DIR"

# 5. systemd ---------------------------------------------------------------------------------------
run install -m 0644 "$SRC/systemd/kiosk.service" /etc/systemd/system/kiosk.service
run install -d -m 0755 /etc/systemd/journald.conf.d
run install -m 0644 "$SRC/systemd/journald-kiosk.conf" /etc/systemd/journald.conf.d/kiosk.conf
if [ -n "$HW_WATCHDOG" ]; then
    run install -d -m 0755 /etc/systemd/system.conf.d
    run install -m 0644 "$SRC/systemd/watchdog-kiosk.conf" /etc/systemd/system.conf.d/kiosk-watchdog.conf
fi
if [ -n "$SYSTEMD_UP" ]; then
    run systemctl daemon-reload
    run systemctl disable getty@tty1.service
    run systemctl enable kiosk.service
elif command -v systemctl >/dev/null 2>&1; then
    # systemctl enable/disable work offline: they only write the [Install] symlinks.
    say "systemd is not running here (image build or chroot): enabling the units offline, starting nothing"
    run systemctl --no-reload disable getty@tty1.service || true
    run systemctl --no-reload enable kiosk.service
else
    say "no systemctl here: linking the unit into multi-user.target.wants by hand"
    run install -d -m 0755 /etc/systemd/system/multi-user.target.wants
    run ln -sf /etc/systemd/system/kiosk.service /etc/systemd/system/multi-user.target.wants/kiosk.service
fi
if [ -n "$START" ]; then
    if [ -n "$SYSTEMD_UP" ]; then
        run systemctl restart systemd-journald.service
        run systemctl restart kiosk.service
    else
        say "--start ignored: systemd is not running (the kiosk starts at the next boot)"
    fi
fi

# 6. the display: no console blanking, no text cursor behind the kiosk ---------------------------
CMDLINE=""
for f in /boot/firmware/cmdline.txt /boot/cmdline.txt; do [ -f "$f" ] && { CMDLINE="$f"; break; }; done
if [ -n "$CMDLINE" ]; then
    for token in consoleblank=0 vt.global_cursor_default=0; do
        if ! grep -qw "$token" "$CMDLINE"; then
            say "adding $token to $CMDLINE (takes effect at the next boot)"
            run sed -i "1 s/\$/ $token/" "$CMDLINE"
        fi
    done
else
    say "no /boot/firmware/cmdline.txt (not Raspberry Pi OS): add consoleblank=0 to the kernel command line"
fi

# 7. SD-card safety: a read-only root ------------------------------------------------------------
if [ -n "$RO_ROOT" ]; then
    # (the data partition was checked before anything changed, at the top)
    if command -v raspi-config >/dev/null 2>&1; then
        say "enabling Raspberry Pi OS's overlay file system (takes effect at the next boot)"
        run raspi-config nonint do_overlayfs 0
    else
        say "no raspi-config: using Debian's overlayroot (takes effect at the next boot)"
        [ -n "$APT" ] && run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends overlayroot
        if [ -z "$DRY" ]; then
            echo 'overlayroot="tmpfs:recurse=0"' > /etc/overlayroot.local.conf
        else
            echo "+ write overlayroot=\"tmpfs:recurse=0\" to /etc/overlayroot.local.conf"
        fi
    fi
    say "to change the system later: sudo raspi-config nonint do_overlayfs 1 (or overlayroot-chroot), reboot"
fi

if [ -z "$DRY" ]; then
    # Refuse to leave a world-readable secret behind: this is what the kiosk checks at start.
    if ! runuser -u "$KIOSK_USER" -- "$PREFIX/venv/bin/kiosk" staff check-secrets --config "$CONF_DIR/kiosk.toml"; then
        say "fix the problem above before starting the kiosk"
        exit 1
    fi
fi
say "done. Next: edit $CONF_DIR/kiosk.toml, then: sudo systemctl start kiosk; journalctl -u kiosk -f"
