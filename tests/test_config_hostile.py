"""Configuration errors, never tracebacks (issue 13, item 7).

Each broken file gives one ConfigError naming the file, the key and what was expected; `kiosk
config check` exits 1 with it on stderr; a secret's value never appears in a message; and
kiosk.config imports no layer above it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import config
from kiosk.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, data: bytes | str, name: str = "kiosk.toml") -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


def _check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", "config", "check", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


CASES = [
    # (file content, needles that must all be in the message)
    ('[branding]\nlibrary_name = "Biblioth\xe8que"\n'.encode("latin-1"), ["line 2", "UTF-8"]),
    ("[kiosk]\nlanguages = [1, 2]\n", ["[kiosk] languages", "list of text"]),
    ("[staff]\ncard_hashes = [1]\n", ["[staff] card_hashes", "list of text"]),
    ("[hours]\nholidays = [[\"2026-12-25\"]]\n", ["[hours] holidays", "list of text"]),
    ("[hours]\nexceptions = { \"2026-12-24\" = 9 }\n", ["[hours] exceptions", "table of text"]),
    ("[kiosk]\nlanguages = " + "[" * 5000 + "]" * 5000 + "\n", ["nested too deeply"]),
    ('[ils]\npassword_file = "/run/kiosk/sip2\\u0000.pw"\n', ["[ils] password_file", "NUL"]),
    ("[ils]\ntimeout_s = nan\n", ["[ils] timeout_s", "above 0", "finite"]),
    ("[ils]\ntimeout_s = inf\n", ["[ils] timeout_s", "finite"]),
    ("[ils]\ntimeout_s = -1\n", ["[ils] timeout_s", "above 0"]),
    ("[ils]\nport = 0\n", ["[ils] port", "1 to 65535"]),
    ("[ils]\nport = 70000\n", ["[ils] port", "1 to 65535"]),
    ("[offline]\ndefault_loan_days = 100000\n", ["[offline] default_loan_days", "1 to 365"]),
    ("[offline]\ndefault_loan_days = 0\n", ["[offline] default_loan_days"]),
    ("[gpio]\nlock_pin = 99\n", ["[gpio] lock_pin", "-1 to 53"]),
    ("[tag_reader]\nafi_on_loan = 300\n", ["[tag_reader] afi_on_loan", "0 to 255"]),
    ("[bookdrop]\nsync_interval_s = inf\n", ["[bookdrop] sync_interval_s", "finite"]),
    ("[card_reader]\npoll_interval_s = 0\n", ["[card_reader] poll_interval_s", "above 0"]),
    ("[alerts]\nsmtp_port = -5\n", ["[alerts] smtp_port", "1 to 65535"]),
    ('[monitoring]\nlisten = "127.0.0.1:\u0669\u0661\u0660\u0661"\n', ["[monitoring] listen", "HOST:PORT"]),
    ('[hours]\nmon = "\u0660\u0669:00-18:00"\n', ["[hours] mon", "HH:MM"]),
    ('[staff]\npin_hash = "scrypt$\u0661\u0666$8$1$00112233445566778899$00112233445566778899aabbccddeeff"\n',
     ["[staff] pin_hash"]),
]


@pytest.mark.parametrize("content, needles", CASES)
def test_one_config_error_naming_file_key_and_expectation(tmp_path, content, needles):
    path = _write(tmp_path, content)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert type(err.value) is ConfigError
    text = str(err.value)
    assert str(path) in text
    for needle in needles:
        assert needle in text


@pytest.mark.parametrize("index", [0, 1, 2, 5, 6, 7])
def test_config_check_exits_1_without_a_traceback(tmp_path, index):
    content, needles = CASES[index]
    r = _check(_write(tmp_path, content))
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and needles[0] in r.stderr


@pytest.mark.parametrize("text", ["[ils]\npassword = 12345\n", "[ils]\npassword = [\"s3cret-12345\"]\n",
                                  "[alerts]\nsmtp_password = 12345\n", "[alerts]\nwebhook_url = 12345\n",
                                  "[staff]\npin_hash = 12345\n", "[staff]\ncard_hashes = \"12345\"\n"])
def test_a_wrong_typed_secret_is_never_echoed(tmp_path, text):
    with pytest.raises(ConfigError) as err:
        config.load(_write(tmp_path, text))
    assert "12345" not in str(err.value) and "expected" in str(err.value)


def test_a_mistyped_secret_override_is_not_echoed(tmp_path):
    with pytest.raises(ConfigError) as err:
        config.load(None, ["ils.password:hunter2"])
    assert "hunter2" not in str(err.value)


def test_deeply_nested_override_is_an_error_not_a_crash():
    with pytest.raises(ConfigError, match="languages"):
        config.load(None, ["kiosk.languages=" + "[" * 5000 + "]" * 5000])


def test_password_file_content_is_checked(tmp_path):
    pw = tmp_path / "sip2.pw"
    pw.write_bytes(b"fine\n")
    pw.chmod(0o600)
    s = config.load(None, [f"ils.password_file={json.dumps(str(pw))}"])
    pw.write_bytes(b"s3c\x00ret\n")          # damaged after the kiosk started
    with pytest.raises(ConfigError, match="NUL"):
        s.ils_password()
    pw.write_bytes("s\xe9cret".encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        s.ils_password()
    pw.write_bytes(b"fine\n")
    assert s.ils_password() == "fine"


def test_every_problem_of_a_file_is_reported_together(tmp_path):
    path = _write(tmp_path, "[ils]\nport = 0\n[kiosk]\nlanguages = [1]\n[hours]\nmon = \"x\"\n")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    text = str(err.value)
    assert "[ils] port" in text and "[kiosk] languages" in text and "[hours] mon" in text


def test_shipped_configs_are_in_range():
    for name in ("kiosk.example.toml", "demo.toml"):
        path = ROOT / "config" / name
        if path.exists():
            config.load(path)


def test_every_numeric_key_has_a_finite_range():
    from kiosk.config import checks

    for name, cls in config.SECTIONS.items():
        for f in config.dataclasses.fields(cls):
            tp = config._resolve_type(cls, f)
            if tp in (int, float):
                low, high, _ = checks.range_for(name, f.name, tp, f.metadata.get("range"))
                assert low <= getattr(cls(), f.name) <= high, f"[{name}] {f.name} default out of its range"
                assert high - low < 2**32, f"[{name}] {f.name} has no sensible range"


def test_config_imports_nothing_above_it():
    # kiosk.config is the bottom of the kiosk: loading and checking a full config must not pull
    # in the layers that use it (alerts, monitoring, after-hours, staff ...).
    code = ("import sys, kiosk.config as c\n"
            "c.load(c.CONFIG_DIR / 'kiosk.example.toml')\n"
            "print(sorted(m for m in sys.modules if m == 'kiosk' or m.startswith('kiosk.')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    loaded = set(eval(r.stdout))  # noqa: S307 - our own printed list
    above = {m for m in loaded if m not in ("kiosk", "kiosk.errors", "kiosk.config")
             and not m.startswith("kiosk.config.")}
    assert not above, above


def test_staff_set_on_a_broken_file_is_a_config_error(tmp_path):
    from kiosk.staff import settings_edit

    path = _write(tmp_path, '[branding]\nlibrary_name = "Biblioth\xe8que"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="line 2.*UTF-8"):
        settings_edit.apply_changes(path, {"ils.port": "7000"})
    path.write_text("[kiosk]\nlanguages = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        settings_edit.apply_changes(path, {"ils.port": "7000"})


def test_staff_set_with_a_deeply_nested_value_is_a_config_error(tmp_path):
    from kiosk.staff import settings_edit

    path = _write(tmp_path, "[ils]\nport = 7000\n")
    with pytest.raises(ConfigError, match="languages"):
        settings_edit.apply_changes(path, {"kiosk.languages": "[" * 5000 + "]" * 5000})
    assert path.read_text() == "[ils]\nport = 7000\n"      # untouched


def test_config_check_reads_password_files_it_can_read(tmp_path):
    pw = tmp_path / "sip2.pw"
    pw.write_bytes(b"s3c\x00ret\n")
    pw.chmod(0o600)
    cfg = _write(tmp_path, f'[ils]\npassword_file = "{pw}"\n[alerts]\nsmtp_password_file = "{tmp_path}/none"\n')
    r = _check(cfg)
    assert r.returncode == 1 and "[ils] password_file" in r.stderr and "NUL" in r.stderr
    assert "s3c" not in r.stderr and "Traceback" not in r.stderr
    pw.write_bytes(b"s3cret\n")
    assert _check(cfg).returncode == 0          # a missing file elsewhere is left to the kiosk's start
