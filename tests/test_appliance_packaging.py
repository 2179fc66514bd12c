"""`pip install` + `kiosk demo` works anywhere: the demo configuration ships inside the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = ROOT / "kiosk" / "data" / "demo.toml"


def test_packaged_demo_config_matches_the_repository_one_except_its_paths():
    """Two files, one set of settings: a key added to config/demo.toml must reach the package too."""
    repo = tomllib.loads((ROOT / "config" / "demo.toml").read_text(encoding="utf-8"))
    packaged = tomllib.loads(PACKAGED.read_text(encoding="utf-8"))
    assert packaged["storage"].pop("data_dir") == "~/.local/share/libkiosk/demo"
    repo["storage"].pop("data_dir")
    assert packaged["branding"].pop("logo") == "../assets/demo-logo.png"
    repo["branding"].pop("logo")
    assert packaged == repo


def test_an_installed_kiosk_without_a_checkout_finds_and_loads_its_demo_config(tmp_path):
    """site-packages has no config/ beside the package: the kiosk must use its own copy."""
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "kiosk", site / "kiosk", ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "home"
    home.mkdir()
    code = ("from kiosk.config import DEMO_CONFIG, load\n"
            "s = load(DEMO_CONFIG)\n"
            "print(DEMO_CONFIG); print(s.data_dir); print(s.branding.logo)\n")
    env = dict(os.environ, PYTHONPATH=str(site), HOME=str(home))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    config_path, data_dir, logo = proc.stdout.splitlines()
    assert Path(config_path) == site / "kiosk" / "data" / "demo.toml"
    assert Path(data_dir) == home / ".local" / "share" / "libkiosk" / "demo"
    assert (site / "kiosk" / "data" / logo).resolve().is_file(), logo


def test_a_checkout_keeps_using_config_demo_toml():
    from kiosk.config import DEMO_CONFIG

    assert DEMO_CONFIG == ROOT / "config" / "demo.toml"
