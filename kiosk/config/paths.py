"""Where the kiosk's configuration files are: the checkout's config/ and the demo configuration."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]   # kiosk/config/paths.py -> the checkout
CONFIG_DIR = PROJECT_ROOT / "config"
# `kiosk demo`'s configuration: config/demo.toml in a source checkout, else the copy shipped in the
# package, so that `pip install` + `kiosk demo` works anywhere (site-packages has no config/).
PACKAGED_DEMO_CONFIG = Path(__file__).resolve().parents[1] / "data" / "demo.toml"
DEMO_CONFIG = CONFIG_DIR / "demo.toml" if (CONFIG_DIR / "demo.toml").is_file() else PACKAGED_DEMO_CONFIG


def is_shipped_demo(source: str | os.PathLike | None) -> bool:
    """The checkout's config/demo.toml or the installed package's copy (kiosk/data/demo.toml),
    however the path is spelled."""
    if not source or str(source) == "<defaults>":
        return False
    try:
        return Path(source).resolve() in {(CONFIG_DIR / "demo.toml").resolve(), PACKAGED_DEMO_CONFIG.resolve()}
    except OSError:
        return False
