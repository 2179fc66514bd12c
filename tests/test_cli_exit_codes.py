"""Exit codes that mean what the README's table says, where a newcomer typing the docs found otherwise.

* ``kiosk doctor`` on a damaged journal is a local storage error (4), not a hardware error (5).
* ``kiosk journal resolve`` with an id that is not in the staff queue is the user's slip (64), not
  "local storage error" (4), which would send staff looking for a failing SD card; so is
  ``kiosk journal acknowledge-loss`` when no loss is recorded.
* On an installed kiosk, a user who cannot read /etc/kiosk (0700, owner kiosk) is told so (1), not
  silently given the demo configuration, its journal and a demo library answering checkouts.
* ``kiosk staff hash-pin`` on a terminal: two different entries are a slip (64), not a
  configuration error (1); Ctrl-D at the prompt is a message, not a traceback.
"""

from __future__ import annotations

import os

import pytest

from kiosk.circulation import journal as j
from kiosk.cli import main
from kiosk.exitcodes import EXIT_STORAGE, EXIT_USAGE


def _config(tmp_path):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[hardware]\nsimulate = true\n[storage]\ndata_dir = "{tmp_path / "data"}"\n')
    return str(cfg)


def test_doctor_on_a_damaged_journal_exits_4_local_storage(tmp_path, capsys):
    cfg = _config(tmp_path)
    (tmp_path / "data").mkdir()
    # A journal whose header an SD card garbled (tests/test_journal_damage.py damages pages too).
    (tmp_path / "data" / "journal.sqlite3").write_bytes(b"\xa5" * 8192)
    assert main(["doctor", "--config", cfg, "--no-ils"]) == EXIT_STORAGE
    out = capsys.readouterr().out
    assert "FAIL  journal" in out and "FAIL  card_reader" not in out


def test_journal_resolve_of_a_row_not_waiting_for_staff_is_a_usage_error(tmp_path, capsys):
    cfg = _config(tmp_path)
    (tmp_path / "data").mkdir()
    with j.Journal(tmp_path / "data" / "journal.sqlite3") as jn:
        done = jn.record_intent("checkin", "3900000002", state=j.QUEUED, acked=True, offline=True)
        jn.record_outcome(done, j.SYNCED)
        conflict = jn.record_intent("checkin", "3900000003", state=j.QUEUED, acked=True, offline=True)
        jn.record_outcome(conflict, j.STAFF, reason_key="return_unconfirmed")
    for txn_id, words in ((999, "does not exist"), (done, "is synced")):
        assert main(["journal", "--config", cfg, "resolve", "--id", str(txn_id), "--note", "x"]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert words in err and "kiosk journal list" in err and "storage" not in err
    # The row that does wait for staff is still resolved as before.
    assert main(["journal", "--config", cfg, "resolve", "--id", str(conflict), "--note", "shelved"]) == 0
    assert '"state": "resolved"' in capsys.readouterr().out


def test_journal_acknowledge_loss_with_no_loss_recorded_is_a_usage_error(tmp_path, capsys):
    cfg = _config(tmp_path)
    assert main(["journal", "--config", cfg, "acknowledge-loss", "--note", "checked"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "nothing to acknowledge" in err and "storage" not in err


@pytest.mark.parametrize("typed, says", [(["2468", "2469"], "differ"), ([EOFError], "nothing entered")])
def test_staff_hash_pin_at_a_terminal_slips_are_usage_errors(monkeypatch, capsys, typed, says):
    answers = iter(typed)

    def getpass(prompt: str = "") -> str:
        answer = next(answers)
        if answer is EOFError:
            raise EOFError
        return answer

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", getpass)
    with pytest.raises(SystemExit) as exc:
        main(["staff", "hash-pin"])
    assert exc.value.code == EXIT_USAGE
    out = capsys.readouterr()
    assert says in out.err and "pin_hash" not in out.out and "configuration" not in out.err


def test_a_user_who_cannot_read_the_installed_config_is_told_and_not_given_the_demo(tmp_path, monkeypatch, capsys):
    conf_dir = tmp_path / "etc-kiosk"          # stands in for /etc/kiosk: 0700, owner kiosk
    conf_dir.mkdir()
    conf_dir.chmod(0o000)
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    monkeypatch.setattr("kiosk.cli.INSTALLED_CONFIG", str(conf_dir / "kiosk.toml"))
    monkeypatch.setenv("KIOSK_DEMO_DATA_DIR", str(tmp_path / "demo"))
    if os.geteuid() == 0:       # root may read anything: answer as the OS does for another user
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(conf_dir) else real_access(p, mode))
    try:
        assert main(["journal", "list"]) == 1
    finally:
        conf_dir.chmod(0o700)
    err = capsys.readouterr().err
    assert "sudo -u kiosk kiosk" in err and str(conf_dir / "kiosk.toml") in err
    assert not (tmp_path / "demo").exists(), "the demo's data directory was used instead"


def test_a_local_databases_error_is_local_storage_without_importing_sqlite3_at_start(capsys):
    """`kiosk run` no longer imports sqlite3 before its first frame (issue 19: start-up); an error
    of a data-dir database a command opened is still "local storage error" (4)."""
    import sqlite3
    import subprocess
    import sys

    from kiosk.cli import FAILURES, LocalDatabaseError, report_failure

    assert isinstance(sqlite3.OperationalError("disk I/O error"), LocalDatabaseError)
    assert not isinstance(ValueError("no"), LocalDatabaseError)
    assert report_failure(sqlite3.DatabaseError("file is not a database"), FAILURES) == EXIT_STORAGE
    assert "local storage error: file is not a database" in capsys.readouterr().err
    fresh = subprocess.run([sys.executable, "-c", "import sys, kiosk.cli; print('sqlite3' in sys.modules)"],
                           capture_output=True, text=True, timeout=60)
    assert fresh.stdout.strip() == "False", fresh.stderr


def test_a_database_error_a_command_lets_through_exits_4(tmp_path, monkeypatch, capsys):
    """The command's own function raising sqlite3's error (a journal locked by another process)."""
    import sqlite3

    import kiosk.cli as cli

    def broken(_args):  # noqa: ANN001, ANN202
        raise sqlite3.OperationalError("database is locked")

    parser_builder = cli.build_parser

    def build_parser(*a, **k):  # noqa: ANN002, ANN003, ANN202
        parser = parser_builder(*a, **k)
        for action in parser._subparsers._group_actions:
            for name, sub in action.choices.items():
                if name == "doctor":
                    sub.set_defaults(func=broken)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_parser)
    assert main(["doctor", "--config", _config(tmp_path)]) == EXIT_STORAGE
    assert "local storage error: database is locked" in capsys.readouterr().err
