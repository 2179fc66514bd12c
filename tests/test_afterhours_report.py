"""The morning report (kiosk.afterhours.report) and `kiosk report returns|bin` (kiosk.afterhours.cli)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from kiosk import config
from kiosk.afterhours.droplog import DropLog, NewDrop
from kiosk.afterhours.report import build_report, report_to_json, report_to_table, send_report
from kiosk.cli import main

NIGHT = datetime(2026, 11, 28, 18, 0)


def ts(hh: int, mm: int = 0) -> float:
    day = 28 if hh >= 12 else 29
    return datetime(2026, 11, day, hh, mm).timestamp()


@pytest.fixture
def settings(tmp_path):
    p = tmp_path / "kiosk.toml"
    p.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n[bookdrop]\nbin_capacity = 50\n')
    return config.load(p)


@pytest.fixture
def night(settings):
    """A night's drop log: checked in, a hold, two transfers, a refusal, unreadable, waiting."""
    with DropLog(settings.data_dir / "bookdrop.sqlite3") as log:
        ids = log.add([NewDrop(ts(17, 59), "journaled", "OLD1")])                     # before the night
        rows = [
            (ts(19, 5), "1001", dict(state="checked_in", title="Effi Briest", sort_bin="A")),
            (ts(20, 10), "1002", dict(state="checked_in", title="Solaris", alert="hold_here", sort_bin="C")),
            (ts(21, 0), "1003", dict(state="checked_in", title="Faust", alert="hold_elsewhere",
                                     destination="EAST", sort_bin="D")),
            (ts(22, 30), "1004", dict(state="checked_in", title="Pan Tadeusz", alert="transfer",
                                      destination="EAST", sort_bin="D")),
            (ts(23, 45), "1005", dict(state="refused", title="Kometen kommer",
                                      reason_text="Item withdrawn: please give it to staff")),
            (ts(2, 15), None, dict(state="unreadable", reason_key="no_tag")),
            (ts(6, 40), "1007", dict(state="queued", title="Seitsemän veljestä")),
        ]
        for when, item, fields in rows:
            (drop_id,) = log.add([NewDrop(when, "journaled", item, "E004" + (item or "X"))])
            log.update(drop_id, **fields)
        log.add_event("fault", "slot_jammed", ts=ts(3, 0))
        assert ids
    return settings


def test_report_sections(night):
    with DropLog(night.data_dir / "bookdrop.sqlite3") as log:
        r = build_report(log, NIGHT, datetime(2026, 11, 29, 8, 0))
    assert [ln.item_id for ln in r.returns] == ["1001", "1002", "1003", "1004", "1005", None, "1007"]
    assert [ln.item_id for ln in r.holds] == ["1002"]
    assert [ln.item_id for ln in r.transfers] == ["1003", "1004"]
    assert [ln.outcome for ln in r.failures] == ["refused", "unreadable"]
    assert [ln.item_id for ln in r.pending] == ["1007"]
    assert r.counts == {"drops": 7, "checked_in": 4, "refused": 1, "unreadable": 1, "not_ours": 0,
                        "duplicate": 0, "waiting": 1, "holds": 1, "transfers": 2}
    assert r.needs_attention and [e["kind"] for e in r.events] == ["fault"]
    assert json.loads(report_to_json(r))["counts"]["holds"] == 1


def test_table_is_readable_and_alert_text_has_no_titles(night):
    with DropLog(night.data_dir / "bookdrop.sqlite3") as log:
        r = build_report(log, NIGHT, datetime(2026, 11, 29, 8, 0))
    table = report_to_table(r)
    for needle in ("Holds to shelve (1):", "Transfers (2):", "Needs staff (2):", "Waiting for the library system (1",
                   "All returns (7):", "Item withdrawn", "no readable tag", "hold: shelve for pickup, bin C",
                   "Solaris", "2026-11-28 20:10", "slot_jammed"):
        assert needle in table, needle
    plain = report_to_table(r, titles=False)
    assert "Solaris" not in plain and "Effi" not in plain and "1002" in plain


def test_send_report_uses_the_alerts_channel(night):
    with DropLog(night.data_dir / "bookdrop.sqlite3") as log:
        r = build_report(log, NIGHT)
    assert send_report(r, night) is False                   # no e-mail or webhook configured

    class Recorder:
        def __init__(self):
            self.sent = []

        def alert(self, kind, text):
            self.sent.append((kind, text))
            return True
    rec = Recorder()
    assert send_report(r, night, alerter=rec)
    (kind, text), = rec.sent
    assert kind == "afterhours_report" and "1002" in text and "Solaris" not in text


def test_cli_json_and_table(night, capsys):
    src = night.source
    assert main(["report", "returns", "--config", src, "--since", "2026-11-28T18:00",
                 "--until", "2026-11-29T08:00", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"]["drops"] == 7 and data["holds"][0]["item_id"] == "1002"
    assert main(["report", "returns", "--config", src, "--since", "2026-11-28T18:00", "--format", "table"]) == 0
    assert "Transfers (2):" in capsys.readouterr().out
    # piped output (pytest captures stdout: not a TTY) defaults to JSON
    assert main(["report", "returns", "--config", src, "--since", "2026-11-28T18:00"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["drops"] == 7


def test_cli_errors(night, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "returns", "--config", night.source, "--since", "last night"])
    assert exc.value.code == 64
    assert "expected an ISO date-time" in capsys.readouterr().err
    empty = tmp_path / "other.toml"
    empty.write_text(f'[storage]\ndata_dir = "{tmp_path / "nothing"}"\n')
    # A kiosk that never ran the book drop: an empty report, not a configuration error (issue 15).
    assert main(["report", "returns", "--config", str(empty), "--since", "2026-11-28T18:00"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["drops"] == 0
    assert main(["report", "bin", "--config", str(empty)]) == 0
    assert "0 items in the bin" in capsys.readouterr().out


def test_cli_bin_counter(night, capsys):
    assert main(["report", "bin", "--config", night.source]) == 0
    assert "8 items in the bin (capacity 50)" in capsys.readouterr().out
    assert main(["report", "bin", "--config", night.source, "--emptied"]) == 0
    assert main(["report", "bin", "--config", night.source]) == 0
    assert "0 items in the bin" in capsys.readouterr().out.splitlines()[-1]
