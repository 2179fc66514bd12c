"""Secrets off the command line (issue 13, item 7): --pin -/--pin-file/KIOSK_PIN, the same for
passwords and for ``--set ils.password=-`` / ``kiosk staff set ... ils.password=-``; a literal
secret still works but warns; ``kiosk sip2 --raw`` masks the patron PIN like the password."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import config
from kiosk.cli import main
from kiosk.cli.secrets import (
    add_secret_argument,
    mask_sip2_frame,
    resolve_secret,
    resolve_secret_assignments,
)
from kiosk.errors import ConfigError
from kiosk.sip2.testing import FakeAcs

ROOT = Path(__file__).resolve().parent.parent


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_secret_argument(p, "pin", "a PIN")
    return p.parse_args(argv)


def test_every_source_of_a_secret(tmp_path):
    err = io.StringIO()
    f = tmp_path / "pin"
    f.write_text("4711\nignored second line\n")
    assert resolve_secret(_parse("--pin-file", str(f)), "pin", stderr=err, environ={}) == "4711"
    assert resolve_secret(_parse("--pin", "-"), "pin", stdin=io.StringIO("0815\n"), stderr=err, environ={}) == "0815"
    assert resolve_secret(_parse(), "pin", stderr=err, environ={"KIOSK_PIN": "1234"}) == "1234"
    assert resolve_secret(_parse(), "pin", "dflt", stderr=err, environ={}) == "dflt"
    assert err.getvalue() == ""                         # none of these warns
    assert resolve_secret(_parse("--pin", "9999"), "pin", stderr=err, environ={"KIOSK_PIN": "1"}) == "9999"
    warning = err.getvalue()
    assert warning.count("\n") == 1 and "ps" in warning and "9999" not in warning


@pytest.mark.parametrize("argv, stdin, needle", [
    (("--pin", "-"), "", "nothing to read"),
    (("--pin", "x", "--pin-file", "f"), "", "only one"),
    (("--pin-file", "/nonexistent/pin"), "", "cannot read"),
])
def test_secret_errors_are_config_errors(argv, stdin, needle):
    with pytest.raises(ConfigError, match=needle):
        resolve_secret(_parse(*argv), "pin", stdin=io.StringIO(stdin), stderr=io.StringIO(), environ={})


def test_secret_file_with_nul_or_latin1_is_refused(tmp_path):
    f = tmp_path / "pw"
    f.write_bytes(b"ab\x00c\n")
    with pytest.raises(ConfigError, match="NUL"):
        resolve_secret(_parse("--pin-file", str(f)), "pin", environ={})
    f.write_bytes("s\xe9cret".encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        resolve_secret(_parse("--pin-file", str(f)), "pin", environ={})


def test_set_secret_from_stdin_reaches_the_config_exactly():
    err = io.StringIO()
    items = resolve_secret_assignments(["ils.password=-", "ils.port=7000"], stdin=io.StringIO('p"a#ss 1\n'),
                                       stderr=err)
    s = config.load(None, items)
    assert s.ils.password == 'p"a#ss 1' and s.ils.port == 7000 and err.getvalue() == ""
    items = resolve_secret_assignments(["ils.password=12345"], stderr=err)
    assert config.load(None, items).ils.password == "12345"    # digits are a password, not a number
    assert "warning" in err.getvalue() and "12345" not in err.getvalue()


def test_mask_sip2_frame():
    frame = "6300020261206    123456  Y       AOinst|AAP1|AC|ADs3cret|AY1AZF00F"
    masked = mask_sip2_frame(frame)
    assert "s3cret" not in masked and "|AD****|" in masked and "|AAP1|" in masked


@pytest.fixture
def acs():
    with FakeAcs(institution="TEST") as server:
        yield server


def _sip2(port: int, *args: str) -> list[str]:
    return ["sip2", "--set", "ils.timeout_s=2", "--set", "ils.retries=0", "--server", f"127.0.0.1:{port}",
            "--user", "kiosk", "--institution", "TEST", "--location", "KIOSK1", *args]


def test_sip2_pin_and_password_from_stdin_file_and_env(acs, capsys, monkeypatch, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("kiosk\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO("1234\n"))
    assert main(_sip2(acs.port, "--password-file", str(pw), "--raw", "patron", "P1", "--pin", "-")) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["reply"]["valid_patron_password"] is True            # the PIN from stdin was sent
    frames = " ".join(f["frame"] for f in out["frames"])
    assert "1234" not in frames and "AD****" in frames              # and masked in --raw
    assert captured.err == ""                                       # nothing literal: no warning
    monkeypatch.setenv("KIOSK_PASSWORD", "kiosk")
    monkeypatch.setenv("KIOSK_PIN", "9999")
    assert main(_sip2(acs.port, "patron", "P1")) == 0
    assert json.loads(capsys.readouterr().out)["valid_patron_password"] is False   # env PIN was used
    assert main(_sip2(acs.port, "patron", "P1", "--pin", "1234")) == 0               # literal: works
    captured = capsys.readouterr()
    assert json.loads(captured.out)["valid_patron_password"] is True
    assert captured.err.count("warning") == 1 and "1234" not in captured.err


def test_staff_set_password_from_stdin(tmp_path, monkeypatch, capsys):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[ils]\nport = 7000\n")
    cfg.chmod(0o600)
    monkeypatch.setattr(sys, "stdin", io.StringIO("0042\n"))
    assert main(["staff", "set", "--config", str(cfg), "ils.password=-"]) == 0
    assert config.load(cfg).ils.password == "0042"
    assert "warning" not in capsys.readouterr().err


def test_every_cli_secret_option_has_its_file_form():
    # Every --pin/--password a command offers comes with --pin-file/--password-file.
    from kiosk.cli import build_parser

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, (*path, name))
            else:
                yield path, action.option_strings

    seen = 0
    for path, options in walk(build_parser(), ()):
        for opt in options:
            if opt in ("--pin", "--password"):
                seen += 1
                flat = {o for p2, opts in walk(build_parser(), ()) if p2 == path for o in opts}
                assert f"{opt}-file" in flat, (path, opt)
    assert seen >= 4      # sip2 --password, sip2 patron --pin, checkout --pin, demo-ils --password


def test_checkout_pin_from_stdin(tmp_path):
    # `kiosk checkout --pin -` reads the PIN from stdin (so it never is in argv): with nothing
    # piped in it says so in one line, before any work is done.
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[storage]\ndata_dir = "{tmp_path}"\n[ils]\nport = 9\ntimeout_s = 0.5\n')
    r = subprocess.run([sys.executable, "-m", "kiosk", "checkout", "--config", str(cfg),
                        "--patron", "P1", "--pin", "-", "I1"], input="", capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr and "--pin -" in r.stderr
