"""``kiosk sip2``: JSON on stdout, exit codes 0/2/3, one clear line on stderr."""

from __future__ import annotations

import json

import pytest

from kiosk.cli import main
from kiosk.sip2.testing import FakeAcs

pytestmark = pytest.mark.sip2_only("`kiosk sip2` is SIP2's staff tool; its FOLIO-and-SIP2 twin `kiosk ils` is tested in tests/test_folio_ils.py")


@pytest.fixture
def acs():
    with FakeAcs(institution="TEST") as server:
        server.delay_s = 1.0
        yield server


@pytest.fixture(autouse=True)
def _password_from_environment(monkeypatch):
    # The password comes from $KIOSK_PASSWORD, not --password: a literal one prints a warning
    # (visible in ps), which the one-line stderr checks below would count.
    monkeypatch.setenv("KIOSK_PASSWORD", "kiosk")


def run(server_port: int, *args: str) -> list[str]:
    return ["sip2", "--set", "ils.timeout_s=0.3", "--set", "ils.retries=0",
            "--server", f"127.0.0.1:{server_port}", "--user", "kiosk",
            "--institution", "TEST", "--location", "KIOSK1", *args]


def test_every_command_completes_with_json(acs, capsys):
    cases = [
        (["status"], "98"), (["login"], "94"), (["patron", "P1", "--pin", "1234"], "64"),
        (["checkout", "P1", "I1"], "12"), (["item", "I1"], "18"), (["renew", "P1", "I1"], "30"),
        (["renew-all", "P1"], "66"), (["checkin", "I1"], "10"), (["end", "P1"], "36"),
    ]
    for args, code in cases:
        assert main(run(acs.port, *args)) == 0, args
        out = json.loads(capsys.readouterr().out)
        assert out["code"] == code, args
    assert acs.acted("11", "I1") == 1 and acs.acted("09", "I1") == 1


def test_refusal_is_exit_0(acs, capsys):
    assert main(run(acs.port, "checkout", "BLOCKED", "I2")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["screen_messages"] == ["Patron blocked"]
    assert main(run(acs.port, "login")[:-1] + ["--password", "wrong", "login"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is False


def test_raw_adds_frames_with_password_masked(acs, capsys):
    assert main(run(acs.port, "--raw", "item", "I3")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reply"]["title"] == "Book number 3"
    directions = [f["direction"] for f in out["frames"]]
    assert directions[:2] == ["sent", "received"] and out["frames"][-1]["frame"].startswith("18")
    assert all("COkiosk" not in f["frame"] for f in out["frames"])


def test_unreachable_is_exit_3(capsys):
    s = FakeAcs()
    port = s.port
    s.stop()
    assert main(run(port, "status")) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot connect" in err[0]


def test_timeout_on_checkout_is_exit_3_and_not_resent(acs, capsys):
    acs.inject("delay", "11")
    assert main(run(acs.port, "checkout", "P1", "I4")) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not resent" in err[0] and "kiosk sip2 item I4" in err[0]
    assert acs.received.count("11") == 1


def test_garbled_reply_is_exit_2(acs, capsys):
    acs.inject("garble", "17")
    for _ in range(3):
        acs.inject("garble", "97")
    assert main(run(acs.port, "item", "I5")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "damaged" in err[0]


def test_bad_server_argument_is_a_usage_error(capsys):
    assert main(["sip2", "--server", "nonsense", "status"]) == 64     # EX_USAGE (kiosk/exitcodes.py)
    err = capsys.readouterr().err
    assert "HOST:PORT" in err and "'nonsense'" not in err              # no Python repr
