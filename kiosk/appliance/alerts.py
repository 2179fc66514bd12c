"""Staff alerts by e-mail (SMTP) or webhook when an unattended kiosk needs a person.

An after-hours book drop fails silently unless somebody is told.  ``AlertWatcher`` looks at the
same metrics registry the monitoring endpoint exposes (``kiosk.appliance.monitoring.metrics``) every few
seconds and raises an alert when:

* the library system has been down for ``ils_down_after_min`` minutes (and once when it is back),
* the receipt printer is out of paper,
* journaled transactions have waited ``queue_waiting_after_min`` minutes for the library system,
* something went wrong in after-hours return mode (``afterhours_failures_total`` went up),
* staff login was locked after too many wrong PINs (``staff_lockouts_total`` went up),
* the journal is damaged or was lost after earlier work (``journal_damaged``, ``journal_lost``),
* the clock has not been trusted for 15 minutes (``clock_trusted`` is 0; kiosk.appliance.clock).

So a layer only updates metrics; it never talks to SMTP.  ``Alerter.alert(kind, text)`` is there
for anything else.  Delivery runs on its own daemon thread with timeouts on every network call
(requests never times out by default, reference §6.3), and is rate-limited per kind and overall;
the rate-limit state is kept in the data directory so a restart loop cannot flood a mailbox.
Alert texts carry counts and states only — never patron names, card numbers or titles.

``start_alerts(settings) -> AlertWatcher | None`` (None when no e-mail or webhook is configured).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.appliance.monitoring import Metrics, metrics
from kiosk.errors import ConfigError

if TYPE_CHECKING:
    from email.message import EmailMessage

log = logging.getLogger(__name__)

STATE_FILE = "alerts_state.json"
CLOCK_UNTRUSTED_AFTER_S = 15 * 60   # NTP normally answers within a minute or two of boot
SUBJECTS = {
    "library_system_down": "library system unreachable",
    "library_system_up": "library system reachable again",
    "printer_paper_out": "receipt printer out of paper",
    "queue_waiting": "transactions waiting for the library system",
    "afterhours_failure": "problem at the after-hours return",
    "afterhours_report": "night returns: the morning report",
    "staff_lockout": "staff login locked after wrong PINs",
    "journal_damaged": "journal damaged: the kiosk is out of service",
    "journal_lost": "journal missing after earlier work",
    "clock_untrusted": "clock not synchronised",
    "test": "test alert",
}


@dataclass(frozen=True)
class Alert:
    kind: str
    subject: str
    text: str
    time: float
    kiosk: str


# -- rate limit ------------------------------------------------------------------------------------

class RateLimiter:
    """At most one alert per kind every ``min_interval_s`` and ``max_per_hour`` in all.

    State is written (fsync'd, atomically) to ``state_path`` when given, so a kiosk that the watchdog
    restarts every minute does not send an e-mail every minute.
    """

    def __init__(self, min_interval_s: float, max_per_hour: int, state_path: Path | None = None) -> None:
        self.min_interval_s = min_interval_s
        self.max_per_hour = max_per_hour
        self.state_path = state_path
        self._lock = threading.Lock()
        self.last: dict[str, float] = {}
        self.sent: list[float] = []
        self.suppressed: dict[str, int] = {}
        if state_path and state_path.exists():
            try:
                data = json.loads(state_path.read_text())
                self.last = {str(k): float(v) for k, v in data.get("last", {}).items()}
                self.sent = [float(t) for t in data.get("sent", [])]
                self.suppressed = {str(k): int(v) for k, v in data.get("suppressed", {}).items()}
            except (OSError, ValueError, AttributeError) as exc:
                log.warning("alert rate-limit state %s unreadable (%s); starting afresh", state_path, exc)

    def allow(self, kind: str, now: float) -> tuple[bool, int]:
        """(send?, how many alerts of this kind were held back since the last one sent)."""
        with self._lock:
            self.sent = [t for t in self.sent if now - t < 3600]
            last = self.last.get(kind)
            # A clock that jumped back (no RTC, NTP not yet synced) must not block alerts forever.
            recent = last is not None and 0 <= now - last < self.min_interval_s
            if recent or len(self.sent) >= self.max_per_hour:
                self.suppressed[kind] = self.suppressed.get(kind, 0) + 1
                self._save()
                return False, self.suppressed[kind]
            held = self.suppressed.pop(kind, 0)
            self.last[kind] = now
            self.sent.append(now)
            self._save()
            return True, held

    def _save(self) -> None:
        if not self.state_path:
            return
        data = json.dumps({"last": self.last, "sent": self.sent, "suppressed": self.suppressed})
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.state_path)
        except OSError as exc:
            log.warning("cannot save alert rate-limit state to %s: %s", self.state_path, exc)


# -- channels --------------------------------------------------------------------------------------

def read_password_file(path: str, label: str) -> str:
    """A password file readable by the kiosk user only (like [ils] password_file)."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read {p}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{label}: {p} is readable by other users (mode {stat.S_IMODE(mode):04o}); "
                          f"run: chmod 600 {p}")
    return p.read_text(encoding="utf-8").strip()


class EmailChannel:
    name = "email"

    def __init__(self, section: Any) -> None:
        self.s = section
        self.password = (read_password_file(section.smtp_password_file, "[alerts] smtp_password_file")
                         if section.smtp_password_file else section.smtp_password)
        self.sender = section.email_from or f"kiosk@{socket.gethostname()}"

    def send(self, alert: Alert) -> None:
        from email.message import EmailMessage

        msg = EmailMessage()
        msg["Subject"] = f"[{alert.kiosk}] {alert.subject}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.s.email_to)
        msg["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S %z", time.localtime(alert.time))
        msg.set_content(alert.text + "\n")
        smtp_send(msg, self.s, self.password)


def smtp_send(msg: EmailMessage, smtp_settings: Any, password: str = "") -> None:
    """Deliver ``msg`` with the SMTP server of ``smtp_settings`` (``smtp_host``, ``smtp_port``,
    ``smtp_security``, ``smtp_user``, ``timeout_s``; the [alerts] section has them).  Raises on any
    failure; callers run it on a worker thread.  smtplib/ssl are imported here, not at module load,
    because the config cross-check imports this module before the kiosk's first frame."""
    import smtplib
    import ssl

    s, t = smtp_settings, smtp_settings.timeout_s
    if s.smtp_security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=t,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=t)
    with smtp:
        if s.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if s.smtp_user:
            smtp.login(s.smtp_user, password)
        smtp.send_message(msg)


class WebhookChannel:
    """POST the alert as JSON; the whole exchange (connect, send, headers, body) ends within
    ``timeout_s``.

    requests' ``timeout`` bounds each socket read, not the request: a receiver that drips one
    byte a second holds it for ever.  So the request runs on its own thread with a hard deadline;
    when the deadline passes, the sockets of this request are shut down (which wakes the blocked
    read at once) and the send fails with ``TimeoutError``.
    """

    name = "webhook"

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url, self.timeout_s = url, timeout_s

    def send(self, alert: Alert) -> None:
        payload = {"text": f"[{alert.kiosk}] {alert.subject}: {alert.text}", "kiosk": alert.kiosk,
                   "kind": alert.kind, "subject": alert.subject, "time": alert.time}
        from kiosk.appliance.webhook import post_with_deadline

        post_with_deadline(self.url, payload, self.timeout_s)


# -- the alerter ----------------------------------------------------------------------------------

class Alerter:
    """Rate-limits alerts and delivers them on a daemon thread to every configured channel."""

    def __init__(self, channels: list, limiter: RateLimiter, *, kiosk_name: str = "",
                 registry: Metrics = metrics, clock: Callable[[], float] = time.time) -> None:
        self.channels = channels
        self.limiter = limiter
        self.kiosk_name = kiosk_name or socket.gethostname()
        self.registry = registry
        self.clock = clock
        self._queue: queue.Queue[Alert | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, registry: Metrics = metrics, **kwargs: Any) -> Alerter:
        a = settings.alerts
        channels: list = []
        if a.email_to:
            channels.append(EmailChannel(a))
        if a.webhook_url:
            channels.append(WebhookChannel(a.webhook_url, a.timeout_s))
        limiter = RateLimiter(a.min_interval_min * 60, a.max_per_hour, settings.data_dir / STATE_FILE)
        return cls(channels, limiter, kiosk_name=a.kiosk_name, registry=registry, **kwargs)

    def alert(self, kind: str, text: str) -> bool:
        """Queue an alert unless the rate limit holds it back; returns whether it was queued."""
        now = self.clock()
        ok, held = self.limiter.allow(kind, now)
        if not ok:
            self.registry.inc("alerts_suppressed_total", kind=kind)
            log.info("alert %s held back by the rate limit (%d so far)", kind, held)
            return False
        if held:
            text += f"\n({held} similar alert(s) were held back by the rate limit.)"
        alert = Alert(kind, SUBJECTS.get(kind, kind.replace("_", " ")), text, now, self.kiosk_name)
        self._ensure_worker()
        self._queue.put(alert)
        return True

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="kiosk-alerts", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            alert = self._queue.get()
            try:
                if alert is None:
                    return
                self._deliver(alert)
            finally:
                self._queue.task_done()

    def _deliver(self, alert: Alert) -> None:
        for ch in self.channels:
            try:
                ch.send(alert)
            except Exception as exc:  # noqa: BLE001 - any delivery failure is logged, never fatal
                self.registry.inc("alerts_failed_total", channel=ch.name)
                log.warning("alert %s could not be sent by %s: %s", alert.kind, ch.name, exc)
            else:
                self.registry.inc("alerts_sent_total", channel=ch.name)
                log.info("alert %s sent by %s", alert.kind, ch.name)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until queued alerts are delivered (or failed); True when the queue drained."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 5.0) -> None:
        if self._thread and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)


class AlertWatcher:
    """Turns metric states into alerts; ``check()`` runs every ``interval_s`` on a daemon thread.
    ``clock`` only measures how long a state lasted, so it is monotonic: a wall clock stepped back
    must not postpone "library system down for 10 minutes"."""

    def __init__(self, section: Any, alerter: Alerter, registry: Metrics = metrics,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.s = section
        self.alerter = alerter
        self.registry = registry
        self.clock = clock
        self._down_since: float | None = None
        self._down_alerted = False
        self._queue_since: float | None = None
        self._queue_alerted = False
        self._paper_out = False
        self._seen_afterhours = registry.total("afterhours_failures_total")
        self._seen_lockouts = registry.total("staff_lockouts_total")
        self._bad: dict[str, bool] = {}
        self._untrusted_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self, now: float | None = None) -> list[str]:
        """Evaluate every condition once; returns the kinds alerted (queued) this time."""
        now = self.clock() if now is None else now
        raised: list[str] = []

        def fire(kind: str, text: str) -> None:
            if self.alerter.alert(kind, text):
                raised.append(kind)

        up = self.registry.get("library_system_up")
        if up == 0:
            self._down_since = self._down_since or now
            minutes = (now - self._down_since) / 60
            if not self._down_alerted and minutes >= self.s.ils_down_after_min:
                self._down_alerted = True
                fire("library_system_down", f"The library system has not answered for {minutes:.0f} minutes. "
                     "Returns are being journaled and will be sent when it is back; check the network "
                     "and the SIP2 server.")
        elif up == 1:
            if self._down_alerted:
                fire("library_system_up", "The library system answers again; journaled transactions "
                     "are being sent.")
            self._down_since, self._down_alerted = None, False

        paper_out = self.registry.get("printer_paper_out") == 1
        if paper_out and not self._paper_out:
            fire("printer_paper_out", "The receipt printer is out of paper. Patrons get no printed "
                 "receipt until the roll is replaced.")
        self._paper_out = paper_out

        length = self.registry.get("journal_queue_length") or 0
        if length > 0:
            self._queue_since = self._queue_since or now
            minutes = (now - self._queue_since) / 60
            if not self._queue_alerted and minutes >= self.s.queue_waiting_after_min:
                self._queue_alerted = True
                fire("queue_waiting", f"{int(length)} transaction(s) have waited {minutes:.0f} minutes for "
                     "the library system. See `kiosk journal` on the kiosk.")
        else:
            self._queue_since, self._queue_alerted = None, False

        failures = self.registry.total("afterhours_failures_total")
        if failures > self._seen_afterhours:
            fire("afterhours_failure", f"{int(failures - self._seen_afterhours)} problem(s) at the after-hours "
                 "return drop since the last check (for example a jammed slot or an item that could not "
                 "be checked in). Please look at the return bin.")
        self._seen_afterhours = failures

        lockouts = self.registry.total("staff_lockouts_total")
        if lockouts > self._seen_lockouts:
            fire("staff_lockout", "Staff login on the kiosk was locked after too many wrong PINs.")
        self._seen_lockouts = lockouts

        # Storage and time (issue 13 item 3, issue 18 item 4): alert once per change to bad.
        for gauge, kind, text in (
                ("journal_damaged", "journal_damaged", "The offline journal file is damaged (SD card?). The kiosk "
                 "is out of service and acknowledges nothing; the damaged file was kept aside. Run `kiosk doctor` "
                 "on the kiosk, replace the SD card if it fails again, then restart the kiosk."),
                ("journal_lost", "journal_lost", "The offline journal was missing or empty at start although this "
                 "kiosk had worked before; a new one was started. Transactions done offline before may not have "
                 "reached the library system. See `kiosk doctor`.")):
            bad = self.registry.get(gauge) == 1
            if bad and not self._bad.get(gauge):
                fire(kind, text)
            self._bad[gauge] = bad
        # A Pi without RTC boots with a stale clock until NTP answers: alert only when it lasts.
        if self.registry.get("clock_trusted") == 0:
            self._untrusted_since = self._untrusted_since or now
            if not self._bad.get("clock") and now - self._untrusted_since >= CLOCK_UNTRUSTED_AFTER_S:
                self._bad["clock"] = True
                fire("clock_untrusted", "The kiosk's clock has not been synchronised for "
                     f"{(now - self._untrusted_since) / 60:.0f} minutes. Offline transactions are flagged and "
                     "sent without their dates; check the network and the time server (NTP).")
        else:
            self._untrusted_since, self._bad["clock"] = None, False
        return raised

    def start(self, interval_s: float = 15.0) -> AlertWatcher:
        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.check()
                except Exception:  # noqa: BLE001 - the watcher must outlive a bad check
                    log.exception("alert check failed")

        self._thread = threading.Thread(target=loop, name="kiosk-alert-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.alerter.close()


def start_alerts(settings: Any, registry: Metrics = metrics, interval_s: float = 15.0) -> AlertWatcher | None:
    """Start watching metrics and alerting staff; None when [alerts] has no e-mail or webhook."""
    a = settings.alerts
    if not (a.email_to or a.webhook_url):
        return None
    alerter = Alerter.from_settings(settings, registry)
    return AlertWatcher(a, alerter, registry).start(interval_s)
