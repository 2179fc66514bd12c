"""Issue 13 item 5: concurrent PIN tries cannot outrun the staff lock-out; scrypt costs are capped.

The staff screen builds a fresh ``StaffAuthenticator`` for every try (kiosk/app.py), and
``kiosk staff`` commands run in processes of their own, so the tries below use one authenticator
each, in threads and in separate processes, all on the same lock-out store.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import pytest

from kiosk.staff import auth
from kiosk.staff.auth import LockoutStore, StaffAuthenticator, check_hash_format, hash_secret

PIN = "4711"
PIN_HASH = hash_secret(PIN, n=2**8)


@dataclass
class Staff:
    pin_hash: str = PIN_HASH
    card_hashes: list = field(default_factory=list)
    require: str = "card_or_pin"
    max_attempts: int = 3
    lockout_s: int = 600
    idle_logout_s: int = 300


class CountingVerify:
    """Wraps ``verify_secret``: counts the checks actually made and widens the race window."""

    def __init__(self, real, third_started: threading.Event) -> None:
        self.real, self.calls, self.third = real, 0, third_started
        self.guard = threading.Lock()

    def __call__(self, secret: str, encoded: str) -> bool:
        with self.guard:
            self.calls += 1
            if self.calls >= 3:
                self.third.set()
        time.sleep(0.05)          # scrypt on a Pi takes tens of milliseconds
        return self.real(secret, encoded)


def test_twelve_concurrent_tries_check_three_and_the_right_pin_stays_locked_out(tmp_path, monkeypatch):
    third = threading.Event()
    counting = CountingVerify(auth.verify_secret, third)
    monkeypatch.setattr(auth, "verify_secret", counting)
    events: list[int] = []
    results: dict[int, str] = {}
    start = threading.Barrier(11)

    def attempt(i: int) -> None:
        a = StaffAuthenticator(Staff(), LockoutStore(tmp_path / "staff_auth.sqlite3"), on_lockout=events.append)
        if i < 11:
            start.wait(5)
            results[i] = a.authenticate(pin="0000").reason
        else:                    # the right PIN arrives while the third wrong one is being checked
            third.wait(5)
            results[i] = a.authenticate(pin=PIN).reason

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert counting.calls == 3, f"{counting.calls} PIN checks made with max_attempts = 3"
    assert results[11] == "locked"
    assert sorted(results.values()).count("wrong") == 2
    assert len(events) == 1       # one lock-out event per lock-out
    assert LockoutStore(tmp_path / "staff_auth.sqlite3").state().locked_for_s > 0


_CHILD = r"""
import sys, time
from dataclasses import dataclass, field
from kiosk.staff import auth
calls = []
real = auth.verify_secret
def counting(secret, encoded):
    calls.append(1)
    time.sleep(0.05)
    return real(secret, encoded)
auth.verify_secret = counting
@dataclass
class Staff:
    pin_hash: str = sys.argv[2]
    card_hashes: list = field(default_factory=list)
    require: str = "card_or_pin"
    max_attempts: int = 3
    lockout_s: int = 600
start = float(sys.argv[3])
while time.time() < start:
    time.sleep(0.005)
a = auth.StaffAuthenticator(Staff(), auth.LockoutStore(sys.argv[1]))
reasons = [a.authenticate(pin="0000").reason for _ in range(3)]
print(len(calls), ",".join(reasons))
"""


def test_tries_from_several_processes_share_one_count(tmp_path):
    store = tmp_path / "staff_auth.sqlite3"
    LockoutStore(store)   # created before the race
    start = time.time() + 3.0     # all four processes are up and waiting by then, even under load
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(store), PIN_HASH, str(start)],
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=60)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    checked = sum(int(o[0]) for o in outs)
    assert checked == 3, f"{checked} PIN checks across processes with max_attempts = 3: {outs}"


def test_a_try_killed_mid_check_still_counts(tmp_path):
    """Counted before verifying: a try whose check never finished has been spent."""
    store = LockoutStore(tmp_path / "s.db")
    a = StaffAuthenticator(Staff(), store)
    with store.serialised():
        store.begin_attempt("staff", time.time(), 3, 600)   # and then the process died
    assert a.status().attempts_left == 2


@pytest.mark.parametrize("n,r,p", [(2**20, 32, 1), (2**16, 8, 1), (2**14, 16, 1), (2**14, 8, 2)])
def test_scrypt_costs_a_pi_cannot_afford_are_a_config_error(n, r, p):
    fake = f"scrypt${n}${r}${p}${'00' * 16}${'11' * 32}"
    why = check_hash_format(fake)
    assert why and "too high" in why and "hash-pin" in why
    # and nothing is spent verifying it
    assert auth.verify_secret("4711", fake) is False


def test_the_default_and_the_cap_are_accepted():
    assert check_hash_format(hash_secret("4711")) is None
    assert check_hash_format(f"scrypt${2**15}$8$1${'00' * 16}${'11' * 32}") is None
