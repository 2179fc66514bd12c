"""`kiosk tag program`, `kiosk inventory scan|report`, `kiosk tags export` against the demo library."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.demo_ils.server import DemoIlsServer
from kiosk.exitcodes import EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo(tmp_path):
    server = DemoIlsServer(tmp_path / "library.sqlite3").start()
    base = ["--config", str(ROOT / "config" / "demo.toml"), "--set", f"ils.port={server.port}",
            "--set", f"storage.data_dir={tmp_path / 'data'}"]
    yield server, base
    server.stop()


def run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_program_a_multi_part_item_then_export(demo, capsys):
    server, base = demo
    item = next(i for i in server.db.export()["items"] if i["parts"] > 1)
    code, out, err = run(capsys, ["tag", "program", *base, item["barcode"], "--simulate"])
    assert code == EXIT_OK, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(x["result"], x["part_number"], x["parts"]) for x in lines] == \
        [("verified", n, item["parts"]) for n in range(1, item["parts"] + 1)]
    assert item["title"] in err
    code, out, _ = run(capsys, ["tags", "export", *base, "--since", "2000-01-01", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == EXIT_OK and len(rows) == item["parts"]
    assert {"uid", "item_id", "model", "part_number", "parts", "bytes_hex", "time", "result"} <= set(rows[0])
    assert rows[0]["bytes_hex"] == lines[0]["bytes_hex"] and rows[0]["result"] == "verified"
    code, out, _ = run(capsys, ["tags", "export", *base, "--since", "2999-01-01", "--format", "json"])
    assert json.loads(out) == []


def test_program_with_model_override_and_unknown_barcode(demo, capsys):
    server, base = demo
    barcode = server.db.export()["items"][0]["barcode"]
    code, out, _ = run(capsys, ["tag", "program", *base, barcode, "--simulate", "--model", "3m", "--parts", "2"])
    assert code == EXIT_OK and [json.loads(x)["model"] for x in out.splitlines()] == ["3m", "3m"]
    code, out, err = run(capsys, ["tag", "program", *base, "0000000", "--simulate"])
    assert code == EXIT_OK and json.loads(out)["result"] == "refused" and "does not know" in err
    code, _, _ = run(capsys, ["tag", "program", *base, barcode, "--simulate", "--parts", "0"])
    assert code == EXIT_USAGE


def test_inventory_scan_then_report(demo, capsys):
    server, base = demo
    items = server.db.export()["items"]
    on_loan = next(i for i in items if i["status"] == "on_loan")["barcode"]
    fine = next(i for i in items if i["status"] == "available" and i["home_branch"] == "MAIN"
                and not i["holds"])["barcode"]
    code, out, err = run(capsys, ["inventory", "scan", *base, "--shelf", "B2", "--simulate", on_loan, fine])
    assert code == EXIT_OK, err
    lines = {x["item_id"]: x for x in map(json.loads, out.splitlines())}
    assert [e["code"] for e in lines[on_loan]["exceptions"]] == ["checked_out"]
    assert lines[fine]["exceptions"] == [] and lines[fine]["marked_seen"] == "yes"
    assert "2 items, 1 needs action" in err
    code, out, _ = run(capsys, ["inventory", "report", *base, "--since", "2000-01-01", "--format", "csv"])
    rows = {r["item_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows[on_loan]["exceptions"] == "checked_out" and rows[on_loan]["actions"] == "check_in"
    assert rows[fine]["shelf"] == "B2" and rows[fine]["exceptions"] == ""
    code, out, _ = run(capsys, ["inventory", "report", *base, "--since", "2000-01-01", "--format", "json",
                                "--exceptions-only"])
    assert [r["item_id"] for r in json.loads(out)] == [on_loan]
    code, _, err = run(capsys, ["inventory", "report", *base, "--since", "yesterday", "--format", "json"])
    assert code == EXIT_USAGE and "--since" in err


def test_library_system_unreachable_exit_code(tmp_path, capsys):
    base = ["--config", str(ROOT / "config" / "demo.toml"), "--set", "ils.port=1", "--set", "ils.retries=0",
            "--set", f"storage.data_dir={tmp_path}"]
    code, _, err = run(capsys, ["tag", "program", *base, "3900000001", "--simulate"])
    assert code == EXIT_UNREACHABLE and "unreachable" in err


def test_inventory_scan_reads_barcodes_from_a_file_on_stdin(demo, tmp_path):
    """`kiosk inventory scan ... < barcodes.txt`: staff who scan barcodes (or a handheld's export)
    need no pad; a `shelf: LABEL` line starts the next shelf; the scan ends at end of input."""
    import subprocess
    import sys

    server, base = demo
    items = server.db.export()["items"]
    on_loan = next(i for i in items if i["status"] == "on_loan")["barcode"]
    fine = next(i for i in items if i["status"] == "available" and i["home_branch"] == "MAIN"
                and not i["holds"])["barcode"]
    listing = tmp_path / "barcodes.txt"
    listing.write_text(f"# shelf check, wedge scanner\r\n{on_loan}\r\n\r\nshelf: C3\n{fine}\n0000000000\n")
    with listing.open("rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "kiosk", "inventory", "scan", *base, "--shelf", "C2"],
                              stdin=stdin, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == EXIT_OK, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [(x["item_id"], x["shelf"]) for x in lines] == [(on_loan, "C2"), (fine, "C3"), ("0000000000", "C3")]
    assert [e["code"] for e in lines[0]["exceptions"]] == ["checked_out"]
    assert [e["code"] for e in lines[2]["exceptions"]] == ["not_in_library"]
    assert lines[1]["exceptions"] == [] and lines[1]["marked_seen"] == "yes"
    assert "2 shelves: 3 items, 2 need action" in proc.stderr


def test_inventory_scan_stdin_flag_with_the_pad_and_a_wedge_scanner(demo, capsys, monkeypatch):
    """`--stdin` on a terminal: a keyboard-wedge scanner types barcodes while the pad is read too."""
    server, base = demo
    items = server.db.export()["items"]
    tagged, scanned = [i["barcode"] for i in items if i["status"] == "available"][:2]
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{scanned}\n{tagged}\n"))   # the tagged one scanned too
    code, out, err = run(capsys, ["inventory", "scan", *base, "--shelf", "D1", "--stdin", "--simulate", tagged])
    assert code == EXIT_OK, err
    assert sorted(json.loads(x)["item_id"] for x in out.splitlines()) == sorted([tagged, scanned])   # once each


def test_stdin_counts_as_barcodes_only_when_it_is_a_pipe_or_a_file(tmp_path, monkeypatch):
    import os

    from kiosk.station.cli import _stdin_is_data

    (tmp_path / "f").write_text("1\n")
    with open(os.devnull) as null, (tmp_path / "f").open() as f:
        monkeypatch.setattr("sys.stdin", null)
        assert not _stdin_is_data()                 # systemd, cron: read the pad until stopped
        monkeypatch.setattr("sys.stdin", f)
        assert _stdin_is_data()
        r, w = os.pipe()
        with os.fdopen(r) as pipe:
            monkeypatch.setattr("sys.stdin", pipe)
            assert _stdin_is_data()
            os.close(w)
