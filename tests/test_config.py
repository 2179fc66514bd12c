"""Configuration: typed loading, precise errors, overrides, and the example file's completeness."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import config
from kiosk.cli import main
from kiosk.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "kiosk.toml"
    p.write_text(text)
    return p


def test_shipped_files_are_valid():
    for name in ("demo.toml", "kiosk.example.toml"):
        s = config.load(ROOT / "config" / name)
        assert s.ils.protocol == "sip2"


def test_example_documents_every_key():
    text = (ROOT / "config" / "kiosk.example.toml").read_text()
    sections = set(re.findall(r"^\[([a-z_]+)\]", text, re.M))
    for name, cls in config.SECTIONS.items():
        assert name in sections, f"[{name}] missing from kiosk.example.toml"
        for f in dataclasses.fields(cls):
            assert re.search(rf"^#?\s*{f.name}\s*=", text, re.M), f"[{name}] {f.name} not documented"


def test_typed_values(tmp_path):
    s = config.load(write(tmp_path, '[ils]\nport = 7000\ntimeout_s = 3\n[kiosk]\nlanguage = "de"\n'))
    assert s.ils.port == 7000 and isinstance(s.ils.timeout_s, float) and s.kiosk.language == "de"


@pytest.mark.parametrize("text, needle", [
    ('[ils]\nprot = 6001\n', "[ils] unknown key 'prot'; did you mean 'port'?"),
    ('[ils]\nport = "six"\n', "[ils] port: expected a whole number, got 'six'"),
    ('[ils]\ntls = 1\n', "[ils] tls: expected true or false"),
    ('[kiosk]\noffline_policy = "always"\n', "expected one of none, returns, returns+checkouts"),
    ('[ilss]\nport = 1\n', "unknown section [ilss]; did you mean [ils]?"),
    ('[ils\n', "not valid TOML"),
])
def test_errors_name_file_key_and_expectation(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_all_errors_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as err:
        config.load(write(tmp_path, '[ils]\nport = "x"\nhots = "a"\n'))
    assert "port" in str(err.value) and "hots" in str(err.value)


def test_overrides(tmp_path):
    path = write(tmp_path, '[ils]\nport = 7000\n')
    s = config.load(path, ["ils.port=7001", "ils.host=example.org", "hardware.simulate=false"])
    assert (s.ils.port, s.ils.host, s.hardware.simulate) == (7001, "example.org", False)
    with pytest.raises(ConfigError, match="ils.port.*expected a whole number|port: expected a whole number"):
        config.load(path, ["ils.port=abc"])
    with pytest.raises(ConfigError, match="section.key=value"):
        config.load(path, ["port=1"])


def test_config_check_exit_codes(tmp_path, capsys):
    good = write(tmp_path, '[ils]\nport = 7000\n')
    assert main(["config", "check", str(good)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[ils]\nport = "x"\n')
    assert main(["config", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "port" in err and "whole number" in err


def test_console_script_runs_as_module(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[kiosk]\nmode = 3\n")
    r = subprocess.run([sys.executable, "-m", "kiosk", "config", "check", str(bad)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and "[kiosk] mode" in r.stderr


def test_world_readable_password_file_is_refused(tmp_path):
    secret = tmp_path / "sip2.pw"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    s = config.load(write(tmp_path, f'[ils]\npassword_file = "{secret}"\n'))
    with pytest.raises(ConfigError, match="chmod 600"):
        s.ils_password()
    secret.chmod(0o600)
    assert s.ils_password() == "s3cret"


def test_atomic_write_round_trip(tmp_path):
    path = write(tmp_path, '[ils]\nport = 7000\n')
    s = config.load(path)
    data = config.to_toml_dict(s)
    data["kiosk"]["language"] = "fr"
    config.write_atomically(path, data)
    again = config.load(path)
    assert again.kiosk.language == "fr" and again.ils.port == 7000
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_printed_section_never_shows_a_secret_but_still_compares_by_value():
    data = {"ils": {"password": "hunter2-sip"}, "alerts": {"smtp_host": "mail", "smtp_password": "hunter2-smtp",
                                                         "webhook_url": "https://hooks.example/T0KEN"}}
    s = config.build_settings(data, "test")
    printed = repr(s) + repr(s.ils) + repr(s.alerts) + str(s.staff)
    assert "hunter2" not in printed and "T0KEN" not in printed
    assert "password=***" in repr(s.ils) and "port=" in repr(s.ils)
    assert "password=''" in repr(config.IlsSection())          # an empty secret is shown as empty
    again = config.build_settings(data, "test")
    assert again.ils == s.ils and again == s
    again.ils.port += 1
    assert again.ils != s.ils and again.ils != s.kiosk
    with pytest.raises(TypeError):
        hash(s.ils)                                            # mutable: unhashable, like before


def test_a_section_is_built_by_keyword_with_its_defaults_and_refuses_an_unknown_key():
    """One ``__init__`` for every section (kiosk/config/keys.py _Section), not one compiled per
    class: keywords as the loader and ``dataclasses.replace`` pass them, a list default per
    section, an unknown key refused as a generated ``__init__`` refuses it."""
    import dataclasses

    kiosk = config.KioskSection(mode="returns")
    assert kiosk.mode == "returns" and kiosk.language == "en"
    other = config.KioskSection()
    other.languages.append("it")
    assert config.KioskSection().languages == ["en", "de", "es", "fr"]     # not shared between sections
    assert dataclasses.replace(kiosk, language="de") == config.KioskSection(mode="returns", language="de")
    with pytest.raises(TypeError, match="unexpected keyword argument 'mdoe'"):
        config.KioskSection(mdoe="returns")


def test_relative_data_dir_is_shown_without_dot_dot(tmp_path):
    """The demo's data_dir = "../var/demo" printed as ".../config/../var/demo" in kiosk doctor,
    kiosk staff stats and kiosk demo-ils --status; staff should read the plain path."""
    from kiosk import config as config_mod

    (tmp_path / "config").mkdir()
    f = tmp_path / "config" / "k.toml"
    f.write_text('[storage]\ndata_dir = "../var/demo"\n', encoding="utf-8")
    f.chmod(0o600)
    settings = config_mod.load(f)
    assert settings.data_dir == (tmp_path / "var" / "demo").resolve()
    assert ".." not in settings.data_dir.parts
