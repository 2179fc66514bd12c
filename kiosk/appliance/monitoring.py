"""Fleet monitoring on existing tools: Prometheus ``/metrics`` and a JSON ``/health``.

Libraries already run Prometheus, Zabbix, Uptime Kuma or Nagios; rather than a dashboard of our
own, the kiosk exposes what they scrape, on an optional local HTTP port (``[monitoring] listen``,
off by default; bind it to 127.0.0.1 or a management VLAN, it has no authentication).

Other layers update the one process-wide registry, ``kiosk.appliance.monitoring.metrics``, from any thread::

    from kiosk.appliance.monitoring import metrics
    metrics.inc("transactions_total", kind="checkout")          # counters
    metrics.inc("refusals_total", kind="checkout", reason="on_hold_for_other")
    metrics.set("journal_queue_length", n)                       # gauges
    metrics.set("library_system_up", 1 if online else 0)
    metrics.set("printer_paper_out", 1); metrics.set("printer_paper_low", 0)
    metrics.set("last_sync_timestamp_seconds", time.time())      # after a successful journal sync
    metrics.inc("afterhours_failures_total", reason="slot_jam")  # after-hours return problems

Names are exposed with a ``kiosk_`` prefix.  Labels carry only bounded, non-personal values (kinds
and reason keys) — never card numbers, barcodes or names.  ``kiosk.appliance.alerts`` watches the same
registry, so updating a metric is all a layer does to get staff alerted.

The exposition is ``prometheus_client``'s (this module's :class:`Metrics` is a custom collector in
its own ``CollectorRegistry``, with the client's process and platform collectors); the bounded HTTP
server is in ``kiosk.appliance.endpoint``; docs/monitoring.md documents every metric.

``start_monitoring(settings) -> MonitoringServer | None`` starts the endpoint (daemon thread).
``start_appliance_services(settings, gauges=..., demo=False) -> ApplianceServices`` is the one
call the app makes at start: secrets check, statistics store, endpoint, alert watcher and a
sampler for gauges owned by other layers (journal queue length, library system up, printer paper).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk import __version__
from kiosk.appliance.labels import OTHER, safe_label_value

if TYPE_CHECKING:
    from kiosk.appliance.endpoint import MonitoringServer

log = logging.getLogger(__name__)

PREFIX = "kiosk_"
STARTED = time.time()  # for "no sync since start"

# name: (type, help, label names).  Names follow Prometheus conventions: base units in the name
# (``_seconds``, ``_timestamp_seconds``), ``_total`` for counters, ``_up``/0-1 gauges for states.
# docs/monitoring.md documents each one; tests/test_appliance_monitoring.py checks that it does.
# Undeclared names are accepted (counter for inc, gauge for set) with a warning, so a typo in a
# worker thread is visible in the log but never crashes the kiosk.
KNOWN_METRICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "transactions_total": ("counter", "Completed circulation transactions by kind (checkout, checkin, renewal)",
                           ("kind",)),
    "refusals_total": ("counter", "Transactions the library system or the kiosk refused, by kind and reason",
                       ("kind", "reason")),
    "afterhours_failures_total": ("counter", "Problems while working as an after-hours return drop", ("reason",)),
    "journal_queue_length": ("gauge", "Transactions journaled offline and not yet confirmed by the library system",
                             ()),
    "journal_oldest_pending_timestamp_seconds": (
        "gauge", "Unix time the oldest transaction still waiting for the library system was journaled "
                 "(0: none waiting)", ()),
    "staff_queue_length": ("gauge", "Journaled transactions the library system could not settle: staff must "
                                    "resolve them", ()),
    "staff_queue_oldest_timestamp_seconds": ("gauge", "Unix time the oldest transaction waiting for staff was "
                                                      "journaled (0: none waiting)", ()),
    "journal_damaged": ("gauge", "1 when the journal failed its integrity check (acknowledged work may be at risk)",
                        ()),
    "library_system_up": ("gauge", "1 when the library system (SIP2) answers, 0 when it does not", ()),
    "in_service": ("gauge", "1 when the kiosk serves patrons, 0 while it shows the out-of-service screen", ()),
    "device_fault": ("gauge", "1 while a device reports a fault (unplugged reader, printer error), by device",
                     ("device",)),
    "printer_paper_out": ("gauge", "1 when the receipt printer is out of paper", ()),
    "printer_paper_low": ("gauge", "1 when the receipt printer reports paper low", ()),
    "clock_synchronized": ("gauge", "1 when the system clock is synchronised (NTP), 0 when it may be stale", ()),
    "last_sync_timestamp_seconds": ("gauge", "Unix time of the last successful journal sync", ()),
    "ui_heartbeat_timestamp_seconds": ("gauge", "Unix time the UI main loop last pinged the watchdog", ()),
    "staff_lockouts_total": ("counter", "Staff logins locked after too many wrong tries", ()),
    "alerts_sent_total": ("counter", "Staff alerts delivered, by channel", ("channel",)),
    "alerts_failed_total": ("counter", "Staff alerts that could not be delivered, by channel", ("channel",)),
    "alerts_suppressed_total": ("counter", "Staff alerts held back by the rate limit, by kind", ("kind",)),
}

Labels = tuple[tuple[str, str], ...]

@dataclass
class _Metric:
    kind: str
    help: str
    labelnames: tuple[str, ...] | None = None  # None: undeclared, whatever the first call uses
    samples: dict[Labels, float] = field(default_factory=dict)


class Metrics:
    """The kiosk's thread-safe store of counters and gauges, exposed through ``prometheus_client``.

    Updates are a dict write under a lock (microseconds, any thread, no import of the client
    library before the first scrape); a scrape runs this object as a custom collector in its own
    ``CollectorRegistry`` next to the client's process and platform collectors, and the client's
    exposition writes the text.  A gauge that was never set has no sample (``/health`` reads that
    as "unknown"), a declared counter without labels starts at 0.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: dict[str, _Metric] = {}
        self._warned: set[tuple[str, str]] = set()
        self._registry: Any = None
        for name, (kind, doc, labelnames) in KNOWN_METRICS.items():
            self._metrics[name] = _Metric(kind, doc, labelnames)

    def declare(self, name: str, kind: str, doc: str, labelnames: tuple[str, ...] = ()) -> None:
        if kind not in ("counter", "gauge"):
            raise ValueError(f"metric kind must be counter or gauge, not {kind!r}")
        with self._lock:
            self._metrics.setdefault(name, _Metric(kind, doc, tuple(labelnames)))

    def _warn_once(self, name: str, what: str, message: str, *args: Any) -> None:
        if (name, what) not in self._warned:
            self._warned.add((name, what))
            log.warning(message, *args)

    def _get(self, name: str, kind: str) -> _Metric:
        m = self._metrics.get(name)
        if m is None:
            self._warn_once(name, "undeclared", "metric %r was not declared; exposing it as a %s", name, kind)
            m = self._metrics[name] = _Metric(kind, name)
        return m

    def _labels(self, name: str, labels: dict[str, Any]) -> Labels:
        key = []
        for k, v in sorted(labels.items()):
            safe = safe_label_value(v)
            if safe != str(v):
                # The value is not logged: it may be the very personal data this guards against.
                self._warn_once(name, k, "metric %s: label %s got a value that is not a key; exposed as %r",
                                name, k, OTHER)
            key.append((k, safe))
        return tuple(key)

    def _accepts(self, name: str, m: _Metric, key: Labels) -> bool:
        names = tuple(k for k, _ in key)
        if m.labelnames is None:
            m.labelnames = names
        if names != tuple(sorted(m.labelnames)):
            self._warn_once(name, "labels:" + ",".join(names), "metric %s: labels %s, expected %s; sample dropped",
                            name, names or "()", m.labelnames or "()")
            return False
        return True

    def inc(self, name: str, amount: float = 1.0, **labels: Any) -> None:
        """Add ``amount`` (>= 0) to a counter."""
        if amount < 0:
            raise ValueError("counters only go up")
        with self._lock:
            key = self._labels(name, labels)
            m = self._get(name, "counter")
            if self._accepts(name, m, key):
                m.samples[key] = m.samples.get(key, 0.0) + amount

    def set(self, name: str, value: float, **labels: Any) -> None:
        """Set a gauge."""
        with self._lock:
            key = self._labels(name, labels)
            m = self._get(name, "gauge")
            if self._accepts(name, m, key):
                m.samples[key] = float(value)

    def get(self, name: str, default: float | None = None, **labels: Any) -> float | None:
        with self._lock:
            m = self._metrics.get(name)
            key = tuple(sorted((k, safe_label_value(v)) for k, v in labels.items()))
            value = None if m is None else m.samples.get(key)
            if value is None and m is not None and m.kind == "counter" and not key and not m.labelnames:
                value = 0.0  # a declared counter without labels exists from the start
            return default if value is None else value

    def total(self, name: str) -> float:
        """Sum over every label set (e.g. all refusals, whatever the kind)."""
        with self._lock:
            m = self._metrics.get(name)
            return sum(m.samples.values()) if m else 0.0

    def reset(self) -> None:
        """Forget every sample (tests)."""
        with self._lock:
            for m in self._metrics.values():
                m.samples.clear()

    # -- exposition through prometheus_client ----------------------------------------------------
    def collect(self) -> Iterator[Any]:
        """The custom-collector protocol of ``prometheus_client``: one family per metric."""
        from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

        yield InfoMetricFamily(PREFIX + "build", "Version of the kiosk software", value={"version": __version__})
        with self._lock:
            snapshot = [(n, m.kind, m.help, m.labelnames or (), dict(m.samples))
                        for n, m in sorted(self._metrics.items())]
        for name, kind, doc, labelnames, samples in snapshot:
            if kind == "counter":
                family: Any = CounterMetricFamily(PREFIX + name, doc, labels=labelnames)
                if not samples and not labelnames:
                    samples = {(): 0.0}
            else:
                family = GaugeMetricFamily(PREFIX + name, doc, labels=labelnames)
            for key, value in sorted(samples.items()):
                values = dict(key)
                family.add_metric([values[k] for k in labelnames], value)
            yield family

    @property
    def registry(self) -> Any:
        """This kiosk's own ``CollectorRegistry`` (not the client's global one): these metrics, plus
        process (CPU, memory, file descriptors) and platform (Python version) metrics."""
        with self._lock:
            if self._registry is None:
                from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

                reg = CollectorRegistry(auto_describe=False)
                reg.register(self)
                ProcessCollector(registry=reg)
                PlatformCollector(registry=reg)
                self._registry = reg
            return self._registry

    def exposition(self) -> str:
        """Prometheus text format 0.0.4, written by ``prometheus_client``."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode("utf-8")


metrics = Metrics()


# -- health ------------------------------------------------------------------------------------------

def health(registry: Metrics = metrics, now: float | None = None, *, sync_stale_s: float = 900,
           heartbeat_stale_s: float = 90) -> dict:
    """The JSON health check: ``status`` is ok, degraded (needs a person) or failing (not serving).

    A check whose metric was never set reports ``"unknown"`` and does not fail: a kiosk without a
    printer is not unhealthy.
    """
    now = time.time() if now is None else now
    checks: dict[str, dict] = {}
    up = registry.get("library_system_up")
    checks["library_system"] = {"ok": up != 0, "state": "unknown" if up is None else ("up" if up else "down")}
    out = registry.get("printer_paper_out")
    low = registry.get("printer_paper_low")
    checks["printer"] = {"ok": out != 1, "state": "unknown" if out is None else
                         ("paper_out" if out else ("paper_low" if low else "ok"))}
    queue = registry.get("journal_queue_length")
    last_sync = registry.get("last_sync_timestamp_seconds")
    sync_age = None if last_sync is None else round(now - last_sync, 1)
    # Waiting items are fine while syncs keep happening; no sync yet counts from process start.
    queue_ok = not queue or now - (last_sync if last_sync is not None else STARTED) < sync_stale_s
    checks["journal_queue"] = {"ok": queue_ok, "length": None if queue is None else int(queue),
                               "last_sync_age_s": sync_age}
    beat = registry.get("ui_heartbeat_timestamp_seconds")
    beat_age = None if beat is None else round(now - beat, 1)
    checks["ui"] = {"ok": beat_age is None or beat_age < heartbeat_stale_s, "heartbeat_age_s": beat_age}
    checks.update(storage_and_clock_checks())   # issue 13/18: a damaged or lost journal, the clock
    if not checks["ui"]["ok"] or checks["journal_storage"].get("state") == "damaged":
        status = "failing"
    elif all(c["ok"] for c in checks.values()):
        status = "ok"
    else:
        status = "degraded"
    return {"status": status, "version": __version__, "time": now, "checks": checks}


def storage_and_clock_checks() -> dict[str, dict]:
    """The journal's soundness and the clock's trust, as ``/health`` entries.  Their state lives in
    kiosk.circulation.journal_check and kiosk.appliance.clock (no I/O here): a self-contained hook, whatever
    registry the endpoint uses."""
    from kiosk.appliance.clock import health_check as clock
    from kiosk.circulation.journal_check import health_check as journal_storage

    return {"journal_storage": journal_storage(), "clock": clock()}


# -- the HTTP endpoint ---------------------------------------------------------------------------------

def parse_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9101"``, ``"[::1]:9101"`` or ``":9101"`` (all interfaces) -> (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:9101; got {text!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "0.0.0.0", int(port)


def start_monitoring(settings: Any, registry: Metrics = metrics) -> MonitoringServer | None:
    """Start the endpoint named by ``[monitoring] listen``; None when monitoring is off."""
    if not settings.monitoring.listen:
        return None
    from kiosk.appliance.endpoint import MonitoringServer

    host, port = parse_listen(settings.monitoring.listen)
    return MonitoringServer(host, port, registry).start()


# -- one call for the app: everything of the appliance layer that runs in the background -----------

class GaugeSampler:
    """Reads gauges from the other layers every ``interval_s`` on a daemon thread.

    ``gauges`` maps a metric name to a callable returning its value (``journal.pending_count``,
    ``lambda: int(service.online)``, ``lambda: int(printer.status().paper_out)``).  Calls that may
    block (a printer status query) therefore never run on Kivy's main thread.  A source that raises
    is logged once and skipped; the gauge keeps its last value.  A name may carry labels, as in
    ``"device_fault{device=printer}"``.
    """

    def __init__(self, gauges: dict[str, Callable[[], float]], registry: Metrics = metrics,
                 interval_s: float = 10.0) -> None:
        self.gauges = dict(gauges)
        self.registry = registry
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._failing: set[str] = set()
        self._thread = threading.Thread(target=self._loop, name="kiosk-gauges", daemon=True)

    def sample(self) -> None:
        for name, source in self.gauges.items():
            try:
                value = float(source())
            except Exception as exc:  # noqa: BLE001 - a broken source must not stop the others
                if name not in self._failing:
                    log.warning("metric %s: its source failed: %s", name, exc)
                    self._failing.add(name)
                continue
            self._failing.discard(name)
            metric, _, labels = name.partition("{")
            self.registry.set(metric, value, **dict(p.split("=", 1) for p in labels.rstrip("}").split(",") if p))

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval_s):
                return

    def start(self) -> GaugeSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


@dataclass
class ApplianceServices:
    """What ``start_appliance_services`` started; ``stop()`` ends it all (App.on_stop)."""

    server: MonitoringServer | None = None
    alerts: Any = None
    sampler: GaugeSampler | None = None
    warnings: list[str] = field(default_factory=list)

    def stop(self) -> None:
        from kiosk.staff import stats

        for part in (self.sampler, self.alerts, self.server):
            if part is not None:
                part.stop()
        stats.install(None)


def start_appliance_services(settings: Any, *, gauges: dict[str, Callable[[], float]] | None = None,
                             demo: bool = False, registry: Metrics = metrics) -> ApplianceServices:
    """Start the appliance layer at kiosk start, off the UI thread's way.

    1. ``check_secrets``: raises ConfigError for a secret readable by others (the demo only warns);
    2. statistics: ``kiosk.staff.stats.record_event`` writes to ``<data_dir>/stats.sqlite3``;
    3. the ``[monitoring]`` endpoint, when ``listen`` is set;
    4. the ``[alerts]`` watcher, when e-mail or a webhook is configured;
    5. a sampler for ``gauges`` (see GaugeSampler), every 10 s.
    """
    from kiosk.appliance.alerts import start_alerts
    from kiosk.config import check_secrets
    from kiosk.staff import stats

    warnings = check_secrets(settings, allow_insecure=demo)
    for w in warnings:
        log.warning("insecure secret (accepted for the demo): %s", w)
    services = ApplianceServices(warnings=warnings)
    try:
        stats.install(stats.Stats.for_settings(settings))
        services.server = start_monitoring(settings, registry)
        services.alerts = start_alerts(settings, registry)
        if gauges:
            services.sampler = GaugeSampler(gauges, registry).start()
    except BaseException:
        services.stop()
        raise
    return services
