"""``kiosk checkout / return / journal`` against the real demo library system: JSON out, exit codes."""

from __future__ import annotations

import json

import pytest

from kiosk.cli import main
from tests.fault_proxy import FaultProxy
from tests.test_crash_harness import ROOT

# The commands are the same over either protocol: every test runs over SIP2 and FOLIO (tests/conftest.py).
pytestmark = pytest.mark.both_protocols


@pytest.fixture
def demo(tmp_path, demo_library):
    proxy = FaultProxy(demo_library.port)      # a TCP proxy: SIP2 frames or FOLIO's HTTP alike
    base = ["--config", str(ROOT / "config" / "demo.toml"), "--set", f"storage.data_dir={tmp_path / 'kiosk'}"]
    for assignment in demo_library.overrides(proxy.port):
        base += ["--set", assignment]
    yield demo_library, proxy, base
    proxy.close()


def run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr().out
    if "--jsonl" in argv:     # one compact line per settled item, then the summary
        return code, [json.loads(x) for x in out.splitlines() if x.strip()]
    return code, [json.loads(out)]   # one (pretty-printed) object per invocation


def test_checkout_and_return_print_json_and_happen_once(demo, capsys):
    server, proxy, base = demo
    export = server.db.export()
    card = next(p["card"] for p in export["patrons"] if p["status"] == "ok" and not p["loans"])
    items = [i["barcode"] for i in export["items"] if i["status"] == "available" and not i["holds"]
             and not i["scenario"]][:2]
    code, (out,) = run(capsys, ["checkout", *base, "--patron", card, *items, "NOSUCHITEM"])
    assert code == 0 and out["online"] and out["patron"]["masked_id"].endswith(card[-4:])
    states = {i["item_id"]: (i["state"], i["reason_key"]) for i in out["items"]}
    assert states == {items[0]: ("done", None), items[1]: ("done", None),
                      "NOSUCHITEM": ("refused", "unknown_item")}
    assert all(len(server.db.checkouts_of(i)) == 1 for i in items)
    code, lines = run(capsys, ["return", *base, "--jsonl", *items])
    assert code == 0
    streamed, summary = lines[:-1], lines[-1]["summary"]
    assert sorted(x["item_id"] for x in streamed) == sorted(items) and all(x["acknowledged"] for x in streamed)
    assert all(server.db.loan_of_item(i) is None for i in items) and summary["pending_sync"] == 0


def test_offline_policy_decides_and_journal_sync_replays(demo, capsys):
    server, proxy, base = demo
    export = server.db.export()
    item = next(i["barcode"] for i in export["items"] if i["status"] == "on_loan" and not i["holds"])
    proxy.set_down(True)
    code, (out,) = run(capsys, ["return", *base, "--set", "kiosk.offline_policy=none", item])
    assert code == 3 and out["items"][0]["reason_key"] == "offline_not_allowed"
    code, (out,) = run(capsys, ["return", *base, "--set", "kiosk.offline_policy=returns", item])
    assert code == 0 and out["items"][0]["state"] == "done" and out["items"][0]["journaled"]
    code, (listing,) = run(capsys, ["journal", *base, "list"])
    assert code == 0 and [r["item_id"] for r in listing["pending"]] == [item]
    code, (report,) = run(capsys, ["journal", *base, "sync"])
    assert code == 3 and report["remaining"] == 1          # still unreachable
    proxy.set_down(False)
    code, (report,) = run(capsys, ["journal", *base, "sync"])
    assert code == 0 and report["synced"] == 1 and report["remaining"] == 0
    assert len(server.db.checkins_of(item)) == 1
    code, (export,) = run(capsys, ["journal", *base, "export"])
    rows = export["rows"]                                   # one object per invocation
    assert {r["state"] for r in rows} == {"not_sent", "synced"}
    assert all(isinstance(r["created"], str) and "T" in r["created"] for r in rows)   # ISO 8601


def test_checkout_while_unreachable_and_policy_returns_exits_3(demo, capsys):
    server, proxy, base = demo
    proxy.set_down(True)
    code, (out,) = run(capsys, ["checkout", *base, "--set", "kiosk.offline_policy=returns",
                                "--patron", "2000000011", "3900000001"])
    assert code == 3 and out["message_key"] == "offline_returns_only" and out["items"] == []


def test_a_refusal_by_the_kiosk_itself_carries_its_text(demo, capsys):
    """`wrong_mode` and `offline_card_unknown` come from the kiosk, not the library system: the
    JSON still says in words what happened (issue 15), never an empty message_text."""
    server, proxy, base = demo
    code, (out,) = run(capsys, ["checkout", *base, "--set", "kiosk.mode=returns",
                                "--patron", "2000000001", "3900000005"])
    assert code == 0 and out["message_key"] == "wrong_mode"
    assert "only takes returns" in out["message_text"]
    proxy.set_down(True)
    code, (out,) = run(capsys, ["checkout", *base, "--set", "kiosk.offline_policy=returns+checkouts",
                                "--patron", "2000000029", "3900000001"])
    assert out["message_key"] == "offline_card_unknown" and out["message_text"].strip()
    assert code == 3
