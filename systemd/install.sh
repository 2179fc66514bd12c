#!/bin/sh
# Install libkiosk as an appliance on Raspberry Pi OS Lite (Bookworm or Trixie, 64-bit).
#
#   sudo sh systemd/install.sh            install or upgrade from this source tree, enable the unit
#   sudo sh systemd/install.sh --start    ... and (re)start the kiosk now
#   sh systemd/install.sh --dry-run       print what would be done, change nothing (no root needed)
#   options: --no-apt (skip apt-get), --no-hw-watchdog (leave system.conf alone)
#
# What it does (docs/deployment.md explains each step):
#   1. apt: python3-venv and the libraries Kivy's wheel needs on a Lite image (GL/EGL/GLES, mtdev, DRM)
#   2. the system user `kiosk` in groups gpio spi dialout video render input (missing groups created)
#   3. a venv in /opt/kiosk/venv with this source tree installed, with the [pi] drivers
#   4. /etc/kiosk (config, secrets) and /var/lib/kiosk (data), owned by kiosk, mode 0700;
#      every file in /etc/kiosk gets mode 0600: library-system credentials and staff PIN hashes
#      must be readable by the kiosk user only (the kiosk refuses to start otherwise)
#   5. the unit, journald in RAM (no patron traces on the SD card), the hardware watchdog; enable
set -eu

SRC="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=/opt/kiosk
CONF_DIR=/etc/kiosk
DATA_DIR=/var/lib/kiosk
KIOSK_USER=kiosk
GROUPS="gpio spi dialout video render input"
DRY=""; APT=1; START=""; HW_WATCHDOG=1

for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY=1 ;;
        --no-apt) APT="" ;;
        --start) START=1 ;;
        --no-hw-watchdog) HW_WATCHDOG="" ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

run() {  # every change goes through here, so --dry-run shows the whole plan
    if [ -n "$DRY" ]; then echo "+ $*"; else "$@"; fi
}
say() { echo "install.sh: $*"; }

if [ -z "$DRY" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (sudo sh systemd/install.sh), or with --dry-run to see the plan" >&2
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
    PKGS="python3 python3-venv python3-dev libgl1 libegl1 libgles2 libgbm1 libdrm2 libmtdev1 libgl1-mesa-dri"
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
run "$PREFIX/venv/bin/python" -m pip install -q --upgrade pip
run "$PREFIX/venv/bin/python" -m pip install -q --upgrade "$SRC[pi]"
# The mfrc522 package ([card_reader] driver = "mfrc522-package") declares a dependency on RPi.GPIO,
# which conflicts with rpi-lgpio from [pi] (both install the RPi.GPIO module; only rpi-lgpio works
# on a Pi 5), so it cannot be in the extra: install it alone.  Its other dependency, spidev, is in [pi].
run "$PREFIX/venv/bin/python" -m pip install -q --no-deps "mfrc522==0.0.7"
run cp "$SRC/docs/deployment.md" "$PREFIX/docs/deployment.md"

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
run systemctl daemon-reload
run systemctl disable getty@tty1.service
run systemctl enable kiosk.service
if [ -n "$START" ]; then
    run systemctl restart systemd-journald.service
    run systemctl restart kiosk.service
fi

if [ -z "$DRY" ]; then
    # Refuse to leave a world-readable secret behind: this is what the kiosk checks at start.
    if ! runuser -u "$KIOSK_USER" -- "$PREFIX/venv/bin/kiosk" staff check-secrets --config "$CONF_DIR/kiosk.toml"; then
        say "fix the problem above before starting the kiosk"
        exit 1
    fi
fi
say "done. Next: edit $CONF_DIR/kiosk.toml, then: sudo systemctl start kiosk; journalctl -u kiosk -f"
