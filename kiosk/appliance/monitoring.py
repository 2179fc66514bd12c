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
and reason keys) — never card numbers, barcodes or names.  ``kiosk.alerts`` watches the same
registry, so updating a metric is all a layer does to get staff alerted.

``start_monitoring(settings) -> MonitoringServer | None`` starts the endpoint (daemon thread).
``start_appliance_services(settings, gauges=..., demo=False) -> ApplianceServices`` is the one
call the app makes at start: secrets check, statistics store, endpoint, alert watcher and a
sampler for gauges owned by other layers (journal queue length, library system up, printer paper).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk import __version__

log = logging.getLogger(__name__)

PREFIX = "kiosk_"
STARTED = time.time()  # for "no sync since start"

# name: (type, help).  Undeclared names are accepted (counter for inc, gauge for set) with a warning,
# so a typo in a worker thread is visible in the log but never crashes the kiosk.
KNOWN_METRICS: dict[str, tuple[str, str]] = {
    "transactions_total": ("counter", "Completed circulation transactions by kind (checkout, checkin, renewal)"),
    "refusals_total": ("counter", "Transactions the library system or the kiosk refused, by kind and reason"),
    "afterhours_failures_total": ("counter", "Problems while working as an after-hours return drop"),
    "journal_queue_length": ("gauge", "Transactions journaled offline and not yet confirmed by the library system"),
    "library_system_up": ("gauge", "1 when the library system (SIP2) answers, 0 when it does not"),
    "printer_paper_out": ("gauge", "1 when the receipt printer is out of paper"),
    "printer_paper_low": ("gauge", "1 when the receipt printer reports paper low"),
    "last_sync_timestamp_seconds": ("gauge", "Unix time of the last successful journal sync"),
    "ui_heartbeat_timestamp_seconds": ("gauge", "Unix time the UI main loop last pinged the watchdog"),
    "staff_lockouts_total": ("counter", "Staff logins locked after too many wrong tries"),
    "alerts_sent_total": ("counter", "Staff alerts delivered, by channel"),
    "alerts_failed_total": ("counter", "Staff alerts that could not be delivered, by channel"),
    "alerts_suppressed_total": ("counter", "Staff alerts held back by the rate limit, by kind"),
}

Labels = tuple[tuple[str, str], ...]


@dataclass
class _Metric:
    kind: str
    help: str
    samples: dict[Labels, float] = field(default_factory=dict)


class Metrics:
    """A small thread-safe registry of counters and gauges with Prometheus text exposition."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: dict[str, _Metric] = {}
        for name, (kind, doc) in KNOWN_METRICS.items():
            self._metrics[name] = _Metric(kind, doc)

    def declare(self, name: str, kind: str, doc: str) -> None:
        if kind not in ("counter", "gauge"):
            raise ValueError(f"metric kind must be counter or gauge, not {kind!r}")
        with self._lock:
            self._metrics.setdefault(name, _Metric(kind, doc))

    def _get(self, name: str, kind: str) -> _Metric:
        m = self._metrics.get(name)
        if m is None:
            log.warning("metric %r was not declared; exposing it as a %s", name, kind)
            m = self._metrics[name] = _Metric(kind, name)
        return m

    @staticmethod
    def _labels(labels: dict[str, Any]) -> Labels:
        return tuple(sorted((k, str(v)) for k, v in labels.items()))

    def inc(self, name: str, amount: float = 1.0, **labels: Any) -> None:
        """Add ``amount`` (>= 0) to a counter."""
        if amount < 0:
            raise ValueError("counters only go up")
        key = self._labels(labels)
        with self._lock:
            m = self._get(name, "counter")
            m.samples[key] = m.samples.get(key, 0.0) + amount

    def set(self, name: str, value: float, **labels: Any) -> None:
        """Set a gauge."""
        key = self._labels(labels)
        with self._lock:
            self._get(name, "gauge").samples[key] = float(value)

    def get(self, name: str, default: float | None = None, **labels: Any) -> float | None:
        with self._lock:
            m = self._metrics.get(name)
            return default if m is None else m.samples.get(self._labels(labels), default)

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

    def exposition(self) -> str:
        """Prometheus text format 0.0.4."""
        out = [f"# HELP {PREFIX}build_info Version of the kiosk software",
               f"# TYPE {PREFIX}build_info gauge", f'{PREFIX}build_info{{version="{_escape(__version__)}"}} 1']
        with self._lock:
            for name in sorted(self._metrics):
                m = self._metrics[name]
                out.append(f"# HELP {PREFIX}{name} {m.help}")
                out.append(f"# TYPE {PREFIX}{name} {m.kind}")
                for labels, value in sorted(m.samples.items()):
                    lab = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                    out.append(f"{PREFIX}{name}{{{lab}}} {_number(value)}" if lab
                               else f"{PREFIX}{name} {_number(value)}")
        return "\n".join(out) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value == int(value) and abs(value) < 2**53 else repr(value)


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
    if not checks["ui"]["ok"]:
        status = "failing"
    elif all(c["ok"] for c in checks.values()):
        status = "ok"
    else:
        status = "degraded"
    return {"status": status, "version": __version__, "time": now, "checks": checks}


# -- the HTTP endpoint ---------------------------------------------------------------------------------

def parse_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9101"``, ``"[::1]:9101"`` or ``":9101"`` (all interfaces) -> (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:9101; got {text!r}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "0.0.0.0", int(port)


def config_errors(sections: dict[str, Any], source: str) -> list[str]:
    """Cross-checks of [monitoring] (called by kiosk.config)."""
    mon = sections.get("monitoring")
    if mon is None or not mon.listen:
        return []
    try:
        parse_listen(mon.listen)
    except ValueError as exc:
        return [f"{source}: [monitoring] listen: {exc}"]
    return []


@functools.cache
def _http_classes() -> tuple[type, type, type]:
    """(handler, IPv4 server, IPv6 server), built on first use: http.server (and the e-mail package
    it pulls in) costs tens of milliseconds at import, which the kiosk should not pay before its
    first frame (the config cross-check imports this module)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class _Handler(BaseHTTPRequestHandler):
        server: Any

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, ctype, code = self.server.registry.exposition().encode(), "text/plain; version=0.0.4", 200
            elif path == "/health":
                report = self.server.health_fn()
                code = 200 if report["status"] == "ok" else 503
                body, ctype = json.dumps(report, indent=1).encode(), "application/json"
            else:
                body, ctype, code = b"not found: try /metrics or /health\n", "text/plain", 404
            self.send_response(code)
            self.send_header("Content-Type", ctype + "; charset=utf-8" if "charset" not in ctype else ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server signature
            log.debug("monitoring %s: " + format, self.client_address[0], *args)

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        registry: Metrics
        health_fn: Callable[[], dict]

    class _Server6(_Server):
        address_family = socket.AF_INET6

    return _Handler, _Server, _Server6


class MonitoringServer:
    """The ``/metrics`` + ``/health`` endpoint in a daemon thread.  ``port`` is the bound port."""

    def __init__(self, host: str, port: int, registry: Metrics = metrics,
                 health_fn: Callable[[], dict] | None = None) -> None:
        handler, server4, server6 = _http_classes()
        server_cls = server6 if ":" in host else server4
        self._httpd = server_cls((host, port), handler)
        self._httpd.registry = registry
        self._httpd.health_fn = health_fn or (lambda: health(registry))
        self.host, self.port = host, self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="kiosk-monitoring", daemon=True)

    def start(self) -> MonitoringServer:
        self._thread.start()
        log.info("monitoring endpoint on http://%s:%d/metrics and /health", self.host, self.port)
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MonitoringServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_monitoring(settings: Any, registry: Metrics = metrics) -> MonitoringServer | None:
    """Start the endpoint named by ``[monitoring] listen``; None when monitoring is off."""
    if not settings.monitoring.listen:
        return None
    host, port = parse_listen(settings.monitoring.listen)
    return MonitoringServer(host, port, registry).start()


# -- one call for the app: everything of the appliance layer that runs in the background -----------

class GaugeSampler:
    """Reads gauges from the other layers every ``interval_s`` on a daemon thread.

    ``gauges`` maps a metric name to a callable returning its value (``journal.pending_count``,
    ``lambda: int(service.online)``, ``lambda: int(printer.status().paper_out)``).  Calls that may
    block (a printer status query) therefore never run on Kivy's main thread.  A source that raises
    is logged once and skipped; the gauge keeps its last value.
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
            self.registry.set(name, value)

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
    from kiosk.alerts import start_alerts
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
