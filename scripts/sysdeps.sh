#!/bin/sh
# System libraries the kiosk and its tests need and pip cannot provide: Mesa GL/EGL for Kivy's
# offscreen rendering, mtdev for Kivy's input providers, systemd for `systemd-analyze verify`.
# espeak-ng: the kiosk's offline speech output (kiosk/speech/); tests speak into a WAV file.
# Installed with apt-get when running as root and missing; otherwise we say what is missing.
#   sh scripts/sysdeps.sh        what the test suite needs (make test)
#   sh scripts/sysdeps.sh app    only what the kiosk itself needs to open its window (make demo)
set -eu
PKGS="libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 libmtdev1 espeak-ng"
if [ "${1:-}" != app ]; then
    # systemd-analyze checks the units; promtool (Debian package prometheus, ~19 MB, ~10 s to
    # install) checks and unit-tests the fleet's alert rules in deploy/prometheus/; amtool
    # (prometheus-alertmanager, ~11 MB) checks its routing.  None of them is needed to run the demo.
    PKGS="$PKGS systemd prometheus prometheus-alertmanager"
fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "sysdeps: installing$missing"
    log="$(mktemp)"     # apt's chatter (debconf notes...) only when something fails
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends $missing; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "sysdeps: apt-get failed (output above)" >&2
        exit 1
    fi
    rm -f "$log"
else
    echo "sysdeps: missing system packages:$missing (run: sudo apt-get install$missing)" >&2
    exit 1
fi
