"""kv rules without Kivy's trace formatting (kiosk/ui/fastkv.py, issue 19).

The speed is a benchmark (bench/bench_ui.py); here: a rule still re-evaluates exactly as Kivy's
own ``call_fn`` does, it no longer formats and logs two traces per evaluation, Kivy's TRACE
level keeps Kivy's own function, and the kiosk's Kivy set-up installs it before any rule.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")

from kivy.lang import Builder, builder  # noqa: E402
from kivy.logger import LOG_LEVELS, Logger  # noqa: E402
from kivy.properties import NumericProperty, StringProperty  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402

from kiosk.ui import fastkv  # noqa: E402


class FastKvProbe(Widget):
    n = NumericProperty(0)
    label = StringProperty("")


@pytest.fixture
def traced(monkeypatch):
    """Every trace() Kivy's builder makes while the test runs, and Kivy's call_fn restored after."""
    calls: list[str] = []
    monkeypatch.setattr(builder, "trace", lambda msg, *a: calls.append(msg))
    monkeypatch.setattr(builder, "call_fn", builder.call_fn)
    return calls


def _probe_with_rule() -> FastKvProbe:
    Builder.unload_file("fastkv-probe")
    Builder.load_string("<FastKvProbe>:\n    label: 'n=%d' % self.n\n", filename="fastkv-probe")
    return FastKvProbe()


def test_rules_evaluate_as_before_without_trace_formatting(traced):
    assert fastkv.install() is True
    probe = _probe_with_rule()
    assert probe.label == "n=0"
    for n in (1, 2, 3):
        probe.n = n
        assert probe.label == f"n={n}"                 # the rule re-ran, with Kivy's eval + setattr
    assert not [c for c in traced if "call_fn" in c]  # and formatted no trace on the way


def test_kivy_call_fn_formats_traces(traced):
    """The control: with Kivy's own function the same rule does trace (so the test above can fail)."""
    probe = _probe_with_rule()
    probe.n = 5
    assert probe.label == "n=5"
    assert [c for c in traced if "call_fn" in c]


def test_trace_level_keeps_kivys_own(traced):
    level = Logger.level
    Logger.setLevel(LOG_LEVELS["trace"])
    try:
        kivy_own = builder.call_fn
        assert fastkv.install() is False
        assert builder.call_fn is kivy_own
    finally:
        Logger.setLevel(level)


def test_kiosk_kivy_setup_installs_it_before_any_rule(traced, tmp_path, monkeypatch):
    from kiosk.ui import kivyenv

    for key in ("KIVY_HOME", "KIVY_NO_CONFIG", "KIVY_NO_FILELOG", "KIVY_LOG_MODE", "KIVY_WINDOW",
                "KIVY_IMAGE", "SDL_NO_SIGNAL_HANDLERS"):
        monkeypatch.setenv(key, os.environ.get(key, ""))   # restored after the test
    kivyenv.prepare(tmp_path / "kivy")
    assert builder.call_fn is fastkv.call_fn
