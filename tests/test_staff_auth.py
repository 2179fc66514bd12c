"""Staff authentication: hashes, constant-time verification, and a lock-out that survives restarts."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from kiosk import config
from kiosk.appliance.monitoring import metrics
from kiosk.cli import main
from kiosk.config import StaffSection
from kiosk.errors import ConfigError
from kiosk.staff.auth import (
    LockoutStore,
    StaffAuthenticator,
    check_hash_format,
    hash_secret,
    verify_secret,
)

FAST = {"n": 2**8}  # tests: cheap scrypt; production uses 2**14


class FakeClock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def staff(**kw) -> StaffSection:
    base = StaffSection(pin_hash=hash_secret("4711", **FAST), card_hashes=[hash_secret("04A1B2C3", **FAST)],
                        max_attempts=5, lockout_s=60)
    return replace(base, **kw)


def test_hash_format_and_verify():
    h = hash_secret("4711", **FAST)
    algo, n, r, p, salt, key = h.split("$")
    assert (algo, n, r, p) == ("scrypt", "256", "8", "1") and len(salt) == 32 and len(key) == 64
    assert "4711" not in h and check_hash_format(h) is None
    assert verify_secret("4711", h) and not verify_secret("4712", h) and not verify_secret("", h)
    assert hash_secret("4711", **FAST) != h  # a fresh salt every time
    pb = hash_secret("4711", algorithm="pbkdf2_sha256", iterations=1000)
    assert pb.startswith("pbkdf2_sha256$1000$") and verify_secret("4711", pb) and not verify_secret("1", pb)


@pytest.mark.parametrize("bad", ["4711", "scrypt$16384$8$1$zz$00", "scrypt$1000$8$1$" + "ab" * 16 + "$" + "cd" * 32,
                                 "scrypt$2097152$8$1$" + "ab" * 16 + "$" + "cd" * 32, "md5$abc", ""])
def test_malformed_hashes_are_refused(bad):
    assert check_hash_format(bad) is not None
    assert verify_secret("4711", bad) is False


def test_config_rejects_a_plain_pin(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text('[staff]\npin_hash = "4711"\n')
    with pytest.raises(ConfigError, match=r"\[staff\] pin_hash: expected \"scrypt\$n\$r\$p\$salt\$hash\""):
        config.load(path)
    path.write_text('[staff]\nrequire = "card_and_pin"\n')
    with pytest.raises(ConfigError, match="card_and_pin needs both"):
        config.load(path)
    good = hash_secret("4711", **FAST)
    path.write_text(f'[staff]\npin_hash = "{good}"\nmax_attempts = 3\n')
    assert config.load(path).staff.max_attempts == 3


def test_pin_and_card_login(tmp_path):
    auth = StaffAuthenticator(staff(), LockoutStore(tmp_path / "a.db"), clock=FakeClock())
    assert auth.authenticate(pin="4711").ok
    assert auth.authenticate(card=" 04a1b2c3 ").ok  # case and spaces of the reader do not matter
    r = auth.authenticate(pin="0000")
    assert (r.ok, r.reason, r.attempts_left) == (False, "wrong", 4)
    assert auth.authenticate(pin="4711").ok and auth.status().attempts_left == 5  # success resets


def test_card_and_pin_needs_both(tmp_path):
    auth = StaffAuthenticator(staff(require="card_and_pin"), LockoutStore(tmp_path / "a.db"), clock=FakeClock())
    assert auth.authenticate(card="04A1B2C3").reason == "pin_required"
    assert auth.authenticate(pin="4711").reason == "card_required"
    assert auth.status().attempts_left == 5  # asking for the other half is not a failure
    assert auth.authenticate(card="04A1B2C3", pin="4711").ok
    assert auth.authenticate(card="FFFFFFFF", pin="4711").reason == "wrong"
    assert auth.authenticate(card="04A1B2C3", pin="1111").reason == "wrong"


def test_not_configured(tmp_path):
    auth = StaffAuthenticator(StaffSection(), LockoutStore(tmp_path / "a.db"))
    assert auth.authenticate(pin="4711").reason == "not_configured"


def test_lockout_after_max_attempts_and_doubling(tmp_path):
    clock = FakeClock()
    auth = StaffAuthenticator(staff(), LockoutStore(tmp_path / "a.db"), clock=clock)
    before = metrics.total("staff_lockouts_total")
    for left in (4, 3, 2, 1):
        assert auth.authenticate(pin="0000").attempts_left == left
    r = auth.authenticate(pin="0000")
    assert (r.reason, r.locked_for_s) == ("locked", 60)
    assert metrics.total("staff_lockouts_total") == before + 1
    # While locked even the right PIN is refused, and tries do not lengthen the lock-out.
    clock.t += 30
    assert auth.authenticate(pin="4711").reason == "locked"
    assert auth.status().locked_for_s == 30
    clock.t += 31
    assert auth.status().reason == "ok"
    for _ in range(5):
        r = auth.authenticate(pin="0000")
    assert r.locked_for_s == 120  # the second lock-out doubles
    clock.t += 121
    assert auth.authenticate(pin="4711").ok


def test_clock_jumping_back_does_not_extend_lockout(tmp_path):
    clock = FakeClock()
    store = LockoutStore(tmp_path / "a.db")
    auth = StaffAuthenticator(staff(max_attempts=1), store, clock=clock)
    assert auth.authenticate(pin="0").locked_for_s == 60
    clock.t -= 86400  # NTP fixed a wrong clock backwards
    assert auth.status().locked_for_s == 60


LOCK_SCRIPT = """
import sys
from kiosk.config import StaffSection
from kiosk.staff.auth import LockoutStore, StaffAuthenticator, hash_secret
s = StaffSection(pin_hash=hash_secret("4711", n=2**8), max_attempts=5, lockout_s=3600)
auth = StaffAuthenticator(s, LockoutStore(sys.argv[1]))
results = [auth.authenticate(pin="9999").reason for _ in range(5)]
print(",".join(results), flush=True)
import os, signal
os.kill(os.getpid(), signal.SIGKILL)   # no clean shutdown: the counter must already be on disk
"""


def test_lockout_survives_a_killed_process(tmp_path):
    db = tmp_path / "staff_auth.sqlite3"
    proc = subprocess.run([sys.executable, "-c", LOCK_SCRIPT, str(db)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    assert proc.stdout.strip() == "wrong,wrong,wrong,wrong,locked"
    # A "restarted" kiosk: new store, new authenticator, same data directory.
    auth = StaffAuthenticator(staff(), LockoutStore(db))
    r = auth.authenticate(pin="4711")
    assert r.reason == "locked" and 3500 < r.locked_for_s <= 3600
    LockoutStore(db).clear()
    assert auth.authenticate(pin="4711").ok


def test_partial_failures_survive_restart(tmp_path):
    db = tmp_path / "a.db"
    a1 = StaffAuthenticator(staff(), LockoutStore(db))
    for _ in range(3):
        a1.authenticate(pin="0000")
    a2 = StaffAuthenticator(staff(), LockoutStore(db))
    assert a2.status().attempts_left == 2


def test_cli_hash_pin_reads_stdin(monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("4711\n"))
    assert main(["staff", "hash-pin"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith('pin_hash = "scrypt$16384$8$1$') and "4711" not in line
    assert verify_secret("4711", line.split('"')[1])
    monkeypatch.setattr("sys.stdin", io.StringIO("12ab\n"))
    assert main(["staff", "hash-pin"]) == 1
    assert "4 to 12 digits" in capsys.readouterr().err


def test_cli_unlock(tmp_path, capsys):
    cfg = tmp_path / "k.toml"
    cfg.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n')
    settings = config.load(cfg)
    auth = StaffAuthenticator.from_settings(replace(settings, staff=staff(max_attempts=1)))
    assert auth.authenticate(pin="0").reason == "locked"
    assert main(["staff", "unlock", "--config", str(cfg)]) == 0
    assert auth.status().reason == "ok"


def test_card_then_wrong_pin_is_a_failure_in_card_or_pin_mode(tmp_path):
    """The app asks for the PIN after a staff card: a wrong PIN must not be ignored."""
    auth = StaffAuthenticator(staff(), LockoutStore(tmp_path / "a.db"), clock=FakeClock())
    assert auth.authenticate(card="04A1B2C3", pin="4711").ok
    assert auth.authenticate(card="04A1B2C3", pin="0000").reason == "wrong"
    cards_only = StaffAuthenticator(staff(pin_hash=""), LockoutStore(tmp_path / "b.db"), clock=FakeClock())
    assert cards_only.authenticate(card="04A1B2C3", pin="0000").ok  # no PIN configured: the card suffices
    assert not cards_only.authenticate(pin="4711").ok


def test_is_staff_card_normalises_and_does_not_count(tmp_path):
    from kiosk.staff.auth import is_staff_card

    s = staff()
    assert is_staff_card(s, "04a1b2c3") and is_staff_card(s, "04 A1 B2 C3")
    assert not is_staff_card(s, "2000000001") and not is_staff_card(s, None)
    auth = StaffAuthenticator(s, LockoutStore(tmp_path / "a.db"))
    for _ in range(10):
        auth.is_staff_card("2000000001")
    assert auth.status().attempts_left == 5
