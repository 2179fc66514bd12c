#!/bin/sh
# Create .venv and install the kiosk into it (EXTRAS: "" for the app, "test" for the suite).
# Works on a fresh Debian/Ubuntu/Raspberry Pi OS machine that has only python3 and make:
# when python3 cannot make a venv (no ensurepip) and we are root, python3-venv is installed.
set -eu
EXTRAS="${1:-}"
PY="${PYTHON:-python3}"
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    if ! "$PY" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "bootstrap: installing python3-venv (python3 cannot create a virtual environment)"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            "$PY" -m venv .venv
        else
            echo "bootstrap: python3 cannot create a virtual environment; run: sudo apt-get install python3-venv" >&2
            exit 1
        fi
    fi
fi
stamp=".venv/.installed${EXTRAS:+-$EXTRAS}"
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    # On a Raspberry Pi the [pi] extra brings the real drivers (its markers make it empty elsewhere).
    spec=".[pi${EXTRAS:+,$EXTRAS}]"
    # pip's and setuptools' build chatter goes to a log, shown only when the install fails.
    echo "bootstrap: installing libkiosk${EXTRAS:+ [$EXTRAS]} into .venv (the first time takes a few minutes)"
    if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec" >.venv/pip-install.log 2>&1; then
        cat .venv/pip-install.log >&2
        echo "bootstrap: pip install failed (log above, also in .venv/pip-install.log)" >&2
        exit 1
    fi
    touch "$stamp"
fi
