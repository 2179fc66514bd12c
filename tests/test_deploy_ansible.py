"""deploy/ansible: syntax-check, ansible-lint, and the role run against a local root, with
`kiosk config check` guarding every configuration it writes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSIBLE = ROOT / "deploy" / "ansible"
BIN = Path(sys.executable).parent
ENV = dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE / "ansible.cfg"), ANSIBLE_NOCOLOR="1", PYTHONWARNINGS="ignore",
           ANSIBLE_LOCALHOST_WARNING="false", PATH=f"{BIN}:{os.environ.get('PATH', '')}")


def run(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ANSIBLE, env=ENV, **kw)


def test_playbook_passes_syntax_check_and_ansible_lint():
    syntax = run(str(BIN / "ansible-playbook"), "--syntax-check", "playbooks/kiosks.yml")
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    lint = run(str(BIN / "ansible-lint"), "--offline", "--nocolor", "playbooks/kiosks.yml", "roles/kiosk")
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-3000:]


def local_check(prefix: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(ENV, KIOSK_VENV_BIN=str(BIN), KIOSK_ANSIBLE_LIMIT="central-2")
    return subprocess.run(["sh", str(ROOT / "scripts" / "ansible-local-check.sh"), str(prefix), *extra],
                          capture_output=True, text=True, timeout=300, env=env)


def test_role_writes_a_checked_private_config_from_inventory_and_vault(tmp_path):
    proc = local_check(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    conf_dir = tmp_path / "central-2" / "etc" / "kiosk"
    conf = conf_dir / "kiosk.toml"
    assert "kiosk.toml: OK" in proc.stdout
    settings = tomllib.loads(conf.read_text())
    assert settings["ils"]["location"] == "CENTRAL-KIOSK-2"           # host variable
    assert settings["kiosk"]["mode"] == "auto"
    assert settings["hours"]["sat"] == "10:00-16:00"                  # branch group variable
    assert settings["staff"]["pin_hash"].startswith("scrypt$")        # from the vault file
    assert (conf_dir / "ils-password").read_text() == "change-me\n"
    for f in (conf, conf_dir / "ils-password"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    # A bad inventory value never replaces a working configuration: `kiosk config check` runs on
    # the new file before it is put in place (and before any restart).
    before = conf.read_text()
    bad = local_check(tmp_path, "--tags", "config", "-e", "kiosk_display_rotation=45")
    assert bad.returncode != 0
    assert "[display] rotation" in bad.stdout + bad.stderr
    assert conf.read_text() == before
