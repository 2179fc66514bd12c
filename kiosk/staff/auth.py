"""Staff authentication: salted slow hashes of PINs and cards, and a lock-out that survives restarts.

Why this shape (reference: hardware-and-deployment.md §6.2):

* Staff PINs and card numbers are stored only as salted scrypt hashes (one random salt per secret),
  so a copied config file does not hand out the PIN, and comparing is done in constant time
  (``hmac.compare_digest``).  A short PIN can still be brute-forced offline from its hash, which is
  why a config file holding hashes must be readable by the kiosk user only (``check_secrets``).
* Card UIDs are not secrets (MIFARE UIDs can be cloned), so ``require = "card_and_pin"`` is offered.
* Guessing at the PIN pad is slowed by a lock-out after ``max_attempts`` wrong tries.  The counter
  lives in SQLite in the data directory (``synchronous=FULL``), so pulling the plug or a
  watchdog restart does not give an attacker fresh tries.  Each further lock-out doubles.

Everything here is slow on purpose (scrypt takes tens of milliseconds on a Pi): call it from a
worker thread, never from Kivy's main thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.appliance.privacy import mask
from kiosk.config.checks import check_hash_format  # the config check and login use one rule

if TYPE_CHECKING:
    import sqlite3

    from kiosk.appliance.durable import ShortTransaction

log = logging.getLogger(__name__)

# scrypt cost: n=2**14, r=8, p=1 needs 16 MiB and is the interactive-login setting recommended in
# the scrypt paper; it stays well under OpenSSL's default 32 MiB memory limit.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
# What a Raspberry Pi can afford per try is capped in kiosk.config.checks (check_hash_format).
PBKDF2_ITERATIONS = 600_000  # OWASP 2023 figure for PBKDF2-HMAC-SHA256
SALT_BYTES, KEY_BYTES = 16, 32
MAX_LOCKOUT_FACTOR = 16  # lock-outs double: lockout_s, 2x, 4x, ... up to 16x
LOCKOUT_DB = "staff_auth.sqlite3"


# -- pure hashing -------------------------------------------------------------------------------

def normalise_card(card: str) -> str:
    """Card readers differ in case and padding of the same UID; hash one canonical form."""
    return "".join(str(card).split()).upper()


def hash_secret(secret: str, *, algorithm: str = "scrypt", n: int = SCRYPT_N, r: int = SCRYPT_R,
                p: int = SCRYPT_P, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None) -> str:
    """Hash a PIN or card number for the config file.

    Returns ``"scrypt$n$r$p$salt$hash"`` (hex salt and hash) or, where OpenSSL lacks scrypt,
    ``"pbkdf2_sha256$iterations$salt$hash"``.  A fresh random salt is drawn for every call.
    """
    if not secret:
        raise ValueError("cannot hash an empty secret")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    data = secret.encode("utf-8")
    if algorithm == "scrypt":
        key = hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, maxmem=_maxmem(n, r, p), dklen=KEY_BYTES)
        return f"scrypt${n}${r}${p}${salt.hex()}${key.hex()}"
    if algorithm == "pbkdf2_sha256":
        key = hashlib.pbkdf2_hmac("sha256", data, salt, iterations, dklen=KEY_BYTES)
        return f"pbkdf2_sha256${iterations}${salt.hex()}${key.hex()}"
    raise ValueError(f"unknown hash algorithm {algorithm!r}; expected scrypt or pbkdf2_sha256")


def _maxmem(n: int, r: int, p: int) -> int:
    return 128 * r * (n + p + 2) + 1024 * 1024


def verify_secret(secret: str, encoded: str) -> bool:
    """True when ``secret`` matches ``encoded``; False for a wrong secret or a malformed hash."""
    if not secret or check_hash_format(encoded) is not None:
        return False
    parts = encoded.split("$")
    data = secret.encode("utf-8")
    if parts[0] == "scrypt":
        n, r, p = (int(x) for x in parts[1:4])
        salt, expected = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
        key = hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, maxmem=_maxmem(n, r, p), dklen=len(expected))
    else:
        salt, expected = bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
        key = hashlib.pbkdf2_hmac("sha256", data, salt, int(parts[1]), dklen=len(expected))
    return hmac.compare_digest(key, expected)


# -- the persistent lock-out ----------------------------------------------------------------------

_PATH_LOCKS: dict[str, threading.Lock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


def _path_lock(path: Path) -> threading.Lock:
    """One lock per store file in this process (flock alone does not order threads that each open
    the lock file: on Linux they hold separate open file descriptions and exclude each other, but
    a per-file lock keeps the order fair and cheap)."""
    key = str(path.resolve())
    with _PATH_LOCKS_GUARD:
        return _PATH_LOCKS.setdefault(key, threading.Lock())


@dataclass(frozen=True)
class LockoutState:
    """Where one counter stands: ``locked_for_s`` > 0 while locked."""

    failures: int
    lockouts: int
    locked_for_s: float


class LockoutStore:
    """Failed-attempt counters in SQLite, durable across restarts and power cuts.

    One row per ``key`` (the kiosk has one staff PIN pad, so callers normally use ``"staff"``).
    Times are wall-clock seconds so a reboot does not clear a lock-out; a clock that jumps back
    can never lengthen a lock-out beyond the duration it was given.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS lockout (key TEXT PRIMARY KEY, failures INTEGER NOT NULL,"
                       " lockouts INTEGER NOT NULL, locked_until REAL NOT NULL, lock_duration REAL NOT NULL)")

    def _connect(self) -> ShortTransaction:
        # Imported here: kiosk.config imports this module to check [staff] before the first
        # frame, and SQLite is not needed until somebody tries a PIN.
        from kiosk.appliance.durable import ShortTransaction

        return ShortTransaction(self.path)  # durable: a counted failure must survive a power cut

    def state(self, key: str = "staff", now: float | None = None) -> LockoutState:
        now = time.time() if now is None else now
        with self._lock, self._connect() as db:
            return self._state(db, key, now)

    @staticmethod
    def _state(db: sqlite3.Connection, key: str, now: float) -> LockoutState:
        row = db.execute("SELECT failures, lockouts, locked_until, lock_duration FROM lockout WHERE key = ?",
                         (key,)).fetchone()
        if row is None:
            return LockoutState(0, 0, 0.0)
        failures, lockouts, until, duration = row
        left = max(0.0, min(until - now, duration))
        return LockoutState(failures, lockouts, left)

    def record_failure(self, key: str, now: float, max_attempts: int, lockout_s: float) -> LockoutState:
        """Count a wrong try; the ``max_attempts``-th in a row starts a lock-out."""
        with self._lock, self._connect() as db:
            st = self._state(db, key, now)
            if st.locked_for_s > 0:  # tries while locked are refused before checking; never extend
                return st
            return self._write(db, key, now, st.failures + 1, st.lockouts, max_attempts, lockout_s)

    @staticmethod
    def _write(db: sqlite3.Connection, key: str, now: float, failures: int, lockouts: int,
               max_attempts: int, lockout_s: float) -> LockoutState:
        until, duration = 0.0, 0.0
        if failures >= max_attempts:
            duration = lockout_s * min(2 ** lockouts, MAX_LOCKOUT_FACTOR)
            until, failures, lockouts = now + duration, 0, lockouts + 1
        db.execute("INSERT OR REPLACE INTO lockout VALUES (?, ?, ?, ?, ?)",
                   (key, failures, lockouts, until, duration))
        return LockoutState(failures, lockouts, duration)

    @contextlib.contextmanager
    def serialised(self) -> Iterator[None]:
        """One PIN try at a time for this store, across threads AND processes.

        The staff screen builds a fresh authenticator per try and ``kiosk staff`` commands run in
        their own processes, so an instance lock is not enough: twelve concurrent tries would all
        read "2 failures so far" and all be checked.  A process-wide lock per file plus ``flock`` on
        a lock file next to the store make the read-count-verify-settle sequence atomic.
        """
        with _path_lock(self.path):
            lock_path = self.path.with_name(self.path.name + ".lock")
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)   # releases the flock

    def begin_attempt(self, key: str, now: float, max_attempts: int, lockout_s: float
                      ) -> tuple[LockoutState, bool]:
        """Count a try BEFORE it is verified (call inside :meth:`serialised`).

        Returns ``(state, started)``: ``state.locked_for_s > 0`` means refuse without checking.
        The try is written down as a failure first, so a process killed during the (slow) check
        has still spent a try.  ``started`` is True when this call itself started a lock-out (a
        previous try was counted but never settled, e.g. the kiosk was killed mid-check).
        """
        with self._lock, self._connect() as db:
            st = self._state(db, key, now)
            if st.locked_for_s > 0:
                return st, False
            if st.failures >= max_attempts:   # an unsettled max-th try: its lock-out starts now
                locked = self._write(db, key, now, st.failures, st.lockouts, max_attempts, lockout_s)
                return locked, True
            db.execute("INSERT OR REPLACE INTO lockout VALUES (?, ?, ?, 0, 0)",
                       (key, st.failures + 1, st.lockouts))
            return LockoutState(st.failures + 1, st.lockouts, 0.0), False

    def settle_failure(self, key: str, now: float, max_attempts: int, lockout_s: float) -> LockoutState:
        """A try counted by :meth:`begin_attempt` was wrong: start the lock-out if it was the last."""
        with self._lock, self._connect() as db:
            st = self._state(db, key, now)
            if st.locked_for_s > 0 or st.failures < max_attempts:
                return st
            return self._write(db, key, now, st.failures, st.lockouts, max_attempts, lockout_s)

    def record_success(self, key: str = "staff") -> None:
        with self._lock, self._connect() as db:
            db.execute("DELETE FROM lockout WHERE key = ?", (key,))

    def clear(self, key: str = "staff") -> None:
        """Lift a lock-out (``kiosk staff unlock``, run by someone with shell access)."""
        self.record_success(key)


# -- the authenticator the staff screens call ----------------------------------------------------

@dataclass(frozen=True)
class AuthResult:
    """What the PIN pad shows.  ``reason``: ok, wrong, locked, card_required, pin_required, not_configured."""

    ok: bool
    reason: str
    attempts_left: int
    locked_for_s: int = 0


class StaffAuthenticator:
    """Checks a staff card and/or PIN against ``[staff]`` and keeps the lock-out counter.

    ``on_lockout(seconds)`` is called (from the caller's thread) when a lock-out starts, so the app
    can raise a staff alert.  Thread-safe; slow (scrypt) — call from a worker thread.
    """

    KEY = "staff"

    def __init__(self, staff: Any, store: LockoutStore, clock: Callable[[], float] = time.time,
                 on_lockout: Callable[[int], None] | None = None) -> None:
        self.staff = staff
        self.store = store
        self.clock = clock
        self.on_lockout = on_lockout
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> StaffAuthenticator:
        return cls(settings.staff, LockoutStore(settings.data_dir / LOCKOUT_DB), **kwargs)

    @property
    def configured(self) -> bool:
        return bool(self.staff.pin_hash or self.staff.card_hashes)

    def status(self) -> AuthResult:
        """Current lock-out state without trying anything (to grey out the PIN pad)."""
        st = self.store.state(self.KEY, self.clock())
        if st.locked_for_s > 0:
            return AuthResult(False, "locked", 0, math.ceil(st.locked_for_s))
        return AuthResult(False, "ok" if self.configured else "not_configured",
                          max(0, self.staff.max_attempts - st.failures))

    def authenticate(self, card: str | None = None, pin: str | None = None) -> AuthResult:
        """Try a staff card and/or PIN.  Asking for the missing half does not count as a failure.

        Tries are serialised across threads and processes (:meth:`LockoutStore.serialised`) and
        each is counted before it is verified, so concurrent tries cannot outrun the lock-out.
        """
        with self._lock, self.store.serialised():
            now = self.clock()
            st = self.store.state(self.KEY, now)
            if st.locked_for_s > 0:
                log.warning("staff login refused: locked for %d s more", math.ceil(st.locked_for_s))
                return AuthResult(False, "locked", 0, math.ceil(st.locked_for_s))
            if not self.configured:
                return AuthResult(False, "not_configured", 0)
            left = max(0, self.staff.max_attempts - st.failures)
            if self.staff.require == "card_and_pin":
                if not card:
                    return AuthResult(False, "card_required", left)
                if not pin:
                    return AuthResult(False, "pin_required", left)
            elif not (card or pin):
                return AuthResult(False, "pin_required", left)
            st, started = self.store.begin_attempt(self.KEY, now, self.staff.max_attempts, self.staff.lockout_s)
            if st.locked_for_s > 0:
                if started:
                    self._locked_out(st)
                return AuthResult(False, "locked", 0, math.ceil(st.locked_for_s))
            if self.staff.require == "card_and_pin":
                # Check both always, so the time taken does not tell which half was wrong.
                ok = self._card_ok(card) & self._pin_ok(pin)
            else:
                # card_or_pin: one suffices, but whatever was given must be right (a staff card
                # followed by a wrong PIN is a failure).  A PIN typed after a card is ignored only
                # when no staff PIN is configured at all.
                checks = []
                if card:
                    checks.append(self._card_ok(card))
                if pin and (self.staff.pin_hash or not card):
                    checks.append(self._pin_ok(pin))
                ok = all(checks)
            if ok:
                self.store.record_success(self.KEY)
                log.info("staff login accepted (%s)", "card " + mask(card) if card else "PIN")
                return AuthResult(True, "ok", self.staff.max_attempts)
            st = self.store.settle_failure(self.KEY, now, self.staff.max_attempts, self.staff.lockout_s)
            if st.locked_for_s > 0:   # serialised: only this try can have started it
                self._locked_out(st)
                return AuthResult(False, "locked", 0, math.ceil(st.locked_for_s))
        log.warning("staff login refused (%s); %d tries left", "card " + mask(card) if card else "PIN",
                    self.staff.max_attempts - st.failures)
        return AuthResult(False, "wrong", self.staff.max_attempts - st.failures)

    def _locked_out(self, st: LockoutState) -> None:
        """One lock-out event (metric, log line, ``on_lockout``) per lock-out."""
        from kiosk.appliance.monitoring import metrics  # kiosk.appliance.alerts watches this counter

        metrics.inc("staff_lockouts_total")
        log.warning("staff login locked for %d s after %d wrong tries",
                    math.ceil(st.locked_for_s), self.staff.max_attempts)
        if self.on_lockout:
            self.on_lockout(math.ceil(st.locked_for_s))

    def is_staff_card(self, card: str) -> bool:
        """Is this one of the staff cards?  For routing a tapped card to the staff PIN pad rather
        than to patron identification; not a login, so it does not count towards the lock-out."""
        return is_staff_card(self.staff, card)

    def _pin_ok(self, pin: str | None) -> bool:
        return bool(pin) and bool(self.staff.pin_hash) and verify_secret(pin, self.staff.pin_hash)

    def _card_ok(self, card: str | None) -> bool:
        # No early exit inside: every stored card hash is checked so timing does not reveal which.
        return is_staff_card(self.staff, card)


def is_staff_card(staff: Any, card: str | None) -> bool:
    """True when ``card`` matches one of ``staff.card_hashes`` (normalised like ``hash-card``).

    Slow (one scrypt per stored card): call it on the card reader's thread, not Kivy's.
    """
    if not card or not staff.card_hashes:
        return False
    norm = normalise_card(card)
    return any([verify_secret(norm, h) for h in staff.card_hashes])
