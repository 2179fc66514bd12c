"""Every reason / message key the circulation engine can emit has plain-language text on screen."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kiosk.circulation.reasons import REASONS as ENGINE_REASONS
from kiosk.ui.i18n import load_catalog
from kiosk.ui.texts import GENERIC, REASONS, reason

CIRCULATION = Path(__file__).resolve().parent.parent / "kiosk" / "circulation"
KEY_ARGS = {"reason_key", "message_key", "error_key", "key"}


def emitted_keys() -> set[str]:
    """String literals the engine passes as a reason/message key: ``reason_key="x"``,
    ``self.message_key = "x"``, ``_end(now, "x")``."""
    keys: set[str] = set()
    for path in CIRCULATION.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            keyword = isinstance(node, ast.keyword) and node.arg in KEY_ARGS
            assigned = isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr in KEY_ARGS for t in node.targets)
            if (keyword or assigned) and isinstance(node.value, ast.Constant):
                keys.add(node.value.value)
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "_end" and len(node.args) == 2 \
                    and isinstance(node.args[1], ast.Constant):
                keys.add(node.args[1].value)
    return {k for k in keys if isinstance(k, str)}


def test_the_scan_finds_the_engine_keys():
    found = emitted_keys()
    for key in ("finish_first", "offline_card_unknown", "timed_out", "cancelled", "ils_timeout"):
        assert key in found, key


def test_every_emitted_key_is_an_engine_reason():
    assert emitted_keys() <= set(ENGINE_REASONS), sorted(emitted_keys() - set(ENGINE_REASONS))


@pytest.mark.parametrize("key", sorted(set(ENGINE_REASONS) | emitted_keys()))
def test_every_engine_key_has_screen_text(key):
    assert key in REASONS, f"kiosk.ui.texts.REASONS has no text for {key!r}"
    happened, _todo = REASONS[key]
    assert happened and happened != GENERIC[0]


@pytest.mark.parametrize("lang", ("de", "es", "fr"))
def test_engine_keys_are_translated(lang):
    table = load_catalog(lang)
    for key in set(ENGINE_REASONS) | emitted_keys():
        for text in REASONS[key]:
            if text:
                assert text in table, (lang, key, text)
        assert reason(key, lang)[0] != REASONS[key][0]      # really in that language
