"""Commands without --config: which configuration, which demo library (kiosk/demo_ils/daemon.py)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket

import pytest

from kiosk import config as config_mod
from kiosk.cli import default_config, settings_from_args
from kiosk.demo_ils import daemon
from kiosk.errors import ConfigError


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(config=kw.get("config"), overrides=kw.get("overrides", []))


def test_without_config_the_demo_configuration_and_its_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    monkeypatch.setattr("kiosk.cli.INSTALLED_CONFIG", str(tmp_path / "no-such-kiosk.toml"))
    monkeypatch.setenv("KIOSK_DEMO_DATA_DIR", str(tmp_path / "demo"))
    assert daemon.is_demo_config(default_config())
    s = settings_from_args(_args())
    assert s.data_dir == (tmp_path / "demo").resolve()
    # An installed kiosk's file wins over the demo; $KIOSK_CONFIG wins over both.
    installed = tmp_path / "kiosk.toml"
    installed.write_text("[kiosk]\nmode = \"returns\"\n")
    monkeypatch.setattr("kiosk.cli.INSTALLED_CONFIG", str(installed))
    assert default_config() == str(installed)
    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "other.toml"))
    assert default_config() == str(tmp_path / "other.toml")
    # --set storage.data_dir beats the demo data dir of the environment.
    s = settings_from_args(_args(config=str(daemon.demo_config_path()),
                                 overrides=[f"storage.data_dir={tmp_path / 'mine'}"]))
    assert s.data_dir == tmp_path / "mine"


def test_the_shipped_demo_config_is_not_an_insecure_secret_but_a_copy_is(tmp_path):
    demo = daemon.demo_config_path()
    assert config_mod.check_secrets(config_mod.load(demo)) == []      # published demo values
    copy = tmp_path / "kiosk.toml"
    shutil.copy(demo, copy)
    os.chmod(copy, 0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        config_mod.check_secrets(config_mod.load(copy))


def test_one_background_library_found_again_restarted_when_stale_and_stopped(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_DEMO_DATA_DIR", str(tmp_path / "demo"))
    # Something else holds the configured port: the demo library takes a free one and says which.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    s1 = daemon.demo_settings([f"ils.port={blocker.getsockname()[1]}"])
    try:
        first = daemon.ensure_running(s1)
        assert first["port"] != blocker.getsockname()[1] and s1.ils.port == first["port"]
        s2 = daemon.demo_settings()
        assert daemon.ensure_running(s2)["pid"] == first["pid"]          # found, not started again
        assert s2.ils.port == first["port"]
        # A state file left by a killed library (pid gone) is not believed.
        state_file = tmp_path / "demo" / daemon.STATE_NAME
        daemon.stop(tmp_path / "demo")
        state_file.write_text(json.dumps({**first, "pid": 2**22 + 17}))
        assert daemon.read_state(tmp_path / "demo") is None
        again = daemon.ensure_running(daemon.demo_settings())
        assert again["pid"] != first["pid"]
    finally:
        blocker.close()
        daemon.stop(tmp_path / "demo")
    assert daemon.read_state(tmp_path / "demo") is None


def test_the_tour_says_where_it_is_and_how_long_it_takes(tmp_path, monkeypatch, capsys):
    from kiosk.ui import tour

    def fake_pass(cmd, **_kw):   # each pass is a process; here it only leaves its screenshot
        name = cmd[cmd.index("--pass") + 1]
        (tmp_path / f"{name}-01-home.png").write_bytes(b"png")
        return 0

    monkeypatch.setattr(tour.subprocess, "call", fake_pass)
    assert tour.run_tour(tmp_path) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"tour: {len(tour.PASSES)} passes, about ") and "minutes" in err[0]
    assert "tour: pass 2 of 6: high contrast (about 60 s)..." in err
    assert sum(ln.startswith("tour: pass ") for ln in err) == len(tour.PASSES)


def test_a_forgotten_background_library_ends_itself(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "kiosk", "demo-ils", "--port", "0", "--db",
                           str(tmp_path / "lib.sqlite3"), "--idle-exit-s", "1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "no request for 1 s; stopping" in proc.stdout
    assert not (tmp_path / daemon.STATE_NAME).exists()        # its state file went with it


def test_bad_input_gets_an_exit_code_not_a_traceback(tmp_path, capsys):
    from kiosk.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--log-level", "LOUD", "doctor"])
    assert exc.value.code == 64
    missing = tmp_path / "typo.toml"
    assert main(["staff", "set", "--config", str(missing), "kiosk.mode=returns"]) == 1
    assert not missing.exists() and "file not found" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["demo-ils", "--db", str(blocker / "lib.sqlite3"), "--export-state"]) == 4
    assert "local storage error" in capsys.readouterr().err


def test_without_config_folio_commands_reach_the_background_librarys_http_face(tmp_path, monkeypatch, capsys):
    """`kiosk ils --set ils.protocol=folio status|patron` and `kiosk checkout --set ils.protocol=folio`
    without --config: the background demo library serves FOLIO's HTTP face too (docs/folio.md, "The
    demo library speaks FOLIO too"), and [ils] url is pointed at it -- whichever port it got."""
    from kiosk.cli import main
    from kiosk.demo_ils.db import LibraryDb

    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    monkeypatch.setattr("kiosk.cli.INSTALLED_CONFIG", str(tmp_path / "no-such-kiosk.toml"))
    monkeypatch.setenv("KIOSK_DEMO_DATA_DIR", str(tmp_path / "demo"))
    # (demo.toml's FOLIO port 9130 may be taken by another demo: the library then takes a free one.)
    folio = ["--set", "ils.protocol=folio"]
    try:
        # A library started by an older kiosk, without the HTTP face, is restarted when FOLIO is asked for.
        old = daemon.ensure_running(daemon.demo_settings())
        state_file = tmp_path / "demo" / daemon.STATE_NAME
        state_file.write_text(json.dumps({**old, "http_port": None}))
        assert main(["ils", *folio, "status"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["protocol"] == "folio" and status["online"] and status["library_name"] == "Main Library"
        state = daemon.read_state(tmp_path / "demo")
        assert state["pid"] != old["pid"] and state["http_port"]
        assert main(["ils", *folio, "patron", "2000000001"]) == 0
        patron = json.loads(capsys.readouterr().out)
        assert patron["valid"] and patron["loans"] and all(lo["title"] for lo in patron["loans"])
        assert main(["checkout", *folio, "--patron", "2000000001", "3900000002"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["online"] and [(i["item_id"], i["state"]) for i in out["items"]] == [("3900000002", "done")]
        assert daemon.read_state(tmp_path / "demo")["pid"] == state["pid"]      # the same library
        lib = LibraryDb(state["db"])
        try:
            assert len(lib.checkouts_of("3900000002")) == 1
        finally:
            lib.close()
    finally:
        daemon.stop(tmp_path / "demo")


def test_the_demo_banner_says_where_folio_answers():
    from kiosk.cli.app import demo_banner

    state = {"host": "127.0.0.1", "port": 6001, "pid": 1, "db": "x", "http_port": 9131}
    s = daemon.demo_settings(["ils.protocol=folio", "ils.url=http://127.0.0.1:9131"])
    assert "FOLIO at http://127.0.0.1:9131 (tenant diku" in demo_banner(s, state, {})
    assert "FOLIO" not in demo_banner(daemon.demo_settings(), state, {})


def test_reset_while_the_background_library_runs_stops_it_and_serves_the_demo_data_again(tmp_path, monkeypatch, capsys):
    """`kiosk demo-ils --reset` with `kiosk demo`'s background library running said "configuration
    error"; it now stops that library and serves the reseeded database in the foreground.  Without
    --reset it still refuses to start a second server on the same database, and says what to do."""
    import subprocess
    import sys
    import time

    from kiosk.cli import main
    from kiosk.demo_ils.db import LibraryDb

    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    monkeypatch.setattr("kiosk.cli.INSTALLED_CONFIG", str(tmp_path / "no-such-kiosk.toml"))
    monkeypatch.setenv("KIOSK_DEMO_DATA_DIR", str(tmp_path / "demo"))
    foreground = None
    try:
        background = daemon.ensure_running(daemon.demo_settings())
        db = background["db"]
        assert main(["checkout", "--patron", "2000000001", "3900000002"]) == 0      # through the background one
        capsys.readouterr()

        def loans() -> int:
            lib = LibraryDb(db)
            try:
                return len(lib.checkouts_of("3900000002"))
            finally:
                lib.close()

        assert loans() == 1
        command = [sys.executable, "-m", "kiosk", "demo-ils", "--db", db, "--port", "0"]
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "already runs (pid" in second.stderr
        assert "--stop" in second.stderr and "--reset" in second.stderr
        assert daemon.read_state(tmp_path / "demo")["pid"] == background["pid"]     # left alone
        foreground = subprocess.Popen([*command, "--reset"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True)
        deadline = time.monotonic() + 30
        state = None
        while time.monotonic() < deadline and foreground.poll() is None:
            state = daemon.read_state(tmp_path / "demo")
            if state is not None and state["pid"] == foreground.pid:
                break
            time.sleep(0.05)
        assert state is not None and state["pid"] == foreground.pid, foreground.poll()
        assert not daemon._alive(background["pid"])
        assert loans() == 0                                                  # the demo data again
    finally:
        if foreground is not None:
            foreground.terminate()
            _, err = foreground.communicate(timeout=20)
            assert f"stopped the demo library running (pid {background['pid']})" in err
        daemon.stop(tmp_path / "demo")
