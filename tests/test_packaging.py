"""Packaging: an installed kiosk (a wheel, not this checkout) carries every file it reads at run time."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _package_data_patterns() -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return [p.strip() for p in cfg["options.package_data"]["kiosk"].split(",") if p.strip()]


def test_every_data_file_of_the_kiosk_package_is_in_package_data():
    """kv rules, catalogs, sounds, logos: a file missing here works in a checkout and breaks on a Pi."""
    pkg = ROOT / "kiosk"
    shipped = {p for pattern in _package_data_patterns() for p in pkg.glob(pattern) if p.is_file()}
    data = {p for p in pkg.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts}
    assert data, "no data files found: the test would prove nothing"
    missing = sorted(str(p.relative_to(ROOT)) for p in data - shipped)
    assert not missing, f"add to [options.package_data] in setup.cfg: {missing}"

