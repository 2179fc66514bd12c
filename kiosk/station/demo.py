"""The demo panel's tags for the staff station: a blank tag and a barcode-only tag (demo only).

``kiosk demo``'s simulation panel (kiosk/ui/simpanel.py) adds one button per action here, so a
trainer can show tag programming (a new, blank tag; a barcode collection being converted) without
hardware.  Each action puts one tag on the simulated pad.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def panel_actions(library: dict, devices: Any) -> list[tuple[str, Callable[[], object]]]:
    """(button text, action) pairs for the simulation panel."""
    pad = devices.tag_reader
    if not hasattr(pad, "place_blank"):
        return []
    old = next((i["barcode"] for i in library.get("items", []) if i.get("status") == "available"), None)
    actions: list[tuple[str, Callable[[], object]]] = [("Place a blank tag", pad.place_blank)]
    if old:
        actions.append((f"Place a barcode-only tag ({old})", lambda: pad.place_barcode_only(old)))
    return actions
