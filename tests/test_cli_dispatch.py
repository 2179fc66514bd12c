"""`kiosk <command>` builds only the parser of the layer owning the command (start-up time)."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from kiosk.cli import COMMAND_MODULES, COMMAND_OWNERS, _command_of, main


def test_owner_map_matches_what_each_module_registers():
    registered = {}
    for name in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).register(sub)
        registered.update({command: name for command in sub.choices})
    assert registered == COMMAND_OWNERS


@pytest.mark.parametrize("argv,command", [(["run", "--config", "x"], "run"), (["--log-level", "INFO", "sip2"], "sip2"),
                                          (["--help"], None), ([], None), (["--log-level=INFO", "run"], None)])
def test_command_of(argv, command):
    assert _command_of(argv) == command


def test_kiosk_run_does_not_import_other_layers():
    code = ("import sys; from kiosk.cli import build_parser; build_parser(only='run'); "
            "bad = [m for m in sys.modules if m.startswith(('kiosk.sip2', 'kiosk.circulation.journal', "
            "'kiosk.tags', 'kiosk.hardware', 'smtplib', 'http.server'))]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_command_still_parses(capsys):
    for command in COMMAND_OWNERS:
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
    assert "usage: kiosk staff" in capsys.readouterr().out


def test_loading_settings_and_english_texts_stay_light():
    """Before the first frame the kiosk loads its settings (with the appliance cross-checks) and
    draws the home screen in English: none of that needs SMTP, an HTTP server or Babel."""
    code = ("import sys; from kiosk import config; config.load(None); from kiosk.ui.i18n import tr; "
            "tr('Borrow', 'en'); import kiosk.appliance.alerts, kiosk.appliance.monitoring; "
            "bad = [m for m in ('smtplib', 'http.server', 'babel', 'email.message') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_usage_errors_exit_64_not_protocol_error(capsys):
    """argparse's own exit 2 would read as "protocol error" to a script: usage errors are EX_USAGE."""
    import pytest

    from kiosk.cli import main
    from kiosk.exitcodes import EXIT_USAGE

    for argv in (["no-such-command"], ["sip2", "--no-such-flag"], ["config", "check"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == EXIT_USAGE == 64, argv
    assert "error:" in capsys.readouterr().err
