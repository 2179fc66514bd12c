#!/bin/sh
# Run deploy/ansible's role for every kiosk of the example inventory against a local root
# (connection local, everything written under a temporary prefix, no install, no restart), then
# `kiosk config check` each configuration it wrote.  Used by tests/test_deploy_ansible.py.
#   sh scripts/ansible-local-check.sh [PREFIX [ANSIBLE-PLAYBOOK ARGS...]]   (PREFIX: default a new temp dir)
#   KIOSK_ANSIBLE_LIMIT=central-2 ...   only some kiosks of the inventory
set -eu
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${KIOSK_VENV_BIN:-$SRC/.venv/bin}"
PREFIX="${1:-$(mktemp -d -t kiosk-ansible-XXXXXX)}"
[ $# -gt 0 ] && shift   # the rest: extra ansible-playbook arguments
cd "$SRC/deploy/ansible"
export ANSIBLE_CONFIG="$SRC/deploy/ansible/ansible.cfg" ANSIBLE_LOCALHOST_WARNING=false \
       ANSIBLE_NOCOLOR=1 PYTHONWARNINGS=ignore
"$BIN/ansible-playbook" playbooks/kiosks.yml --limit "${KIOSK_ANSIBLE_LIMIT:-kiosks}" "$@" \
    -e ansible_connection=local -e "ansible_python_interpreter=$BIN/python" \
    -e "kiosk_root=$PREFIX/{{ inventory_hostname }}" -e kiosk_install=false -e kiosk_restart=false \
    -e "kiosk_user=$(id -un)" -e "kiosk_kiosk_bin=$BIN/kiosk" -e ansible_become=false \
    -e @inventory/group_vars/all/vault.example.yml
for conf in "$PREFIX"/*/etc/kiosk/kiosk.toml; do
    "$BIN/kiosk" config check "$conf"
done
echo "ansible-local-check: $(ls -d "$PREFIX"/*/ | wc -l) kiosks configured under $PREFIX"
