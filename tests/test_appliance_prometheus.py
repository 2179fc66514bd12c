"""/metrics through prometheus_client: own registry, process metrics, naming conventions, no personal
data in labels, and an endpoint that idle or dripping clients cannot exhaust."""

from __future__ import annotations

import logging
import re
import select
import socket
import threading
import time
import urllib.request
from pathlib import Path

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from kiosk.appliance.endpoint import MonitoringServer
from kiosk.appliance.labels import safe_label_value
from kiosk.appliance.monitoring import KNOWN_METRICS, Metrics

DOCS = Path(__file__).resolve().parent.parent / "docs" / "monitoring.md"


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return resp.read().decode()


def families(text: str) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_exposition_parses_and_carries_process_metrics():
    reg = Metrics()
    reg.inc("transactions_total", kind="checkout")
    reg.set("library_system_up", 1)
    with MonitoringServer("127.0.0.1", 0, reg) as srv:
        fams = families(scrape(srv.port))
    # The official parser reads it back; counters are typed as counters (name without _total).
    assert fams["kiosk_transactions"].type == "counter"
    assert [s.value for s in fams["kiosk_transactions"].samples if s.labels == {"kind": "checkout"}] == [1.0]
    assert fams["kiosk_library_system_up"].type == "gauge"
    # Process metrics for free: CPU, memory, file descriptors, from the client's ProcessCollector.
    for name in ("process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds"):
        assert name in fams, sorted(fams)
    assert "python_info" in fams and "kiosk_build_info" in fams
    # A never-set gauge has no sample (/health says "unknown"), a plain counter starts at 0.
    assert not fams["kiosk_printer_paper_out"].samples
    assert fams["kiosk_staff_lockouts"].samples[0].value == 0


def test_the_kiosk_uses_its_own_registry_not_the_global_one():
    reg = Metrics()
    reg.inc("transactions_total", kind="checkin")
    assert reg.registry is not prometheus_client.REGISTRY
    text = prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
    assert "kiosk_transactions_total" not in text
    assert 'kiosk_transactions_total{kind="checkin"} 1.0' in reg.exposition()


def test_metric_names_follow_prometheus_conventions_and_are_documented():
    doc = DOCS.read_text(encoding="utf-8")
    for name, (kind, help_text, labels) in KNOWN_METRICS.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert (kind == "counter") == name.endswith("_total"), f"{name}: only counters end in _total"
        if "timestamp" in name or name.endswith("_time"):
            assert name.endswith("_timestamp_seconds"), f"{name}: times are in seconds"
        assert help_text and not help_text.endswith(".")
        assert f"`kiosk_{name}`" in doc, f"docs/monitoring.md does not document kiosk_{name}"
        for label in labels:
            assert label in ("kind", "reason", "channel", "device"), f"{name}: unexpected label {label}"


def test_labels_never_carry_personal_data(caplog):
    reg = Metrics()
    card, barcode, name = "21234000567890", "31234000123456", "Ada Lovelace"
    with caplog.at_level(logging.WARNING):
        reg.inc("refusals_total", kind="checkout", reason=card)
        reg.inc("refusals_total", kind=name, reason="not_ours")
        reg.inc("afterhours_failures_total", reason=f"tag_{barcode}")
        reg.set("device_fault", 1, device="printer")
    text = reg.exposition()
    for secret in (card, barcode, "Ada", "Lovelace", "1234"):
        assert secret not in text and secret not in caplog.text
    assert 'kiosk_refusals_total{kind="checkout",reason="other"} 1.0' in text
    assert 'kiosk_device_fault{device="printer"} 1.0' in text
    assert safe_label_value("on_hold_for_other") == "on_hold_for_other"
    assert safe_label_value("paper_out") == "paper_out" and safe_label_value("Paper") == "other"


def test_wrong_label_names_are_dropped_not_fatal(caplog):
    reg = Metrics()
    with caplog.at_level(logging.WARNING):
        reg.inc("transactions_total", kind="checkout", patron="x")   # a label no one declared
        reg.set("library_system_up", 1, branch="main")
    assert "kiosk_transactions_total{" not in reg.exposition()
    assert "library_system_up" in caplog.text and reg.get("library_system_up") is None


def test_idle_connections_cannot_pile_up_threads():
    """200 half-open connections used to keep 200 threads forever; now at most max_connections
    are served, the rest are closed at once, idle ones time out, and scrapes work again."""
    reg = Metrics()
    before = threading.active_count()
    with MonitoringServer("127.0.0.1", 0, reg, max_connections=4, idle_timeout_s=0.5, deadline_s=30) as srv:
        socks = []
        for _ in range(200):   # connect and say nothing
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", srv.port))
            socks.append(s)
        time.sleep(0.5)
        peak = threading.active_count() - before
        assert peak <= 4 + 1, f"{peak} threads for 200 idle connections"   # + the server's own thread
        # Every one of them is closed by the server (refused at once, or timed out when idle).
        open_socks, deadline = set(socks), time.monotonic() + 20
        while open_socks and time.monotonic() < deadline:
            readable, _, _ = select.select(list(open_socks), [], [], 0.2)
            for s in readable:
                try:
                    data = s.recv(1)
                except (ConnectionResetError, BlockingIOError):
                    data = b""
                if data == b"":
                    open_socks.discard(s)
            peak = max(peak, threading.active_count() - before)
        for s in socks:
            s.close()
        assert not open_socks, f"{len(open_socks)} idle connections still open"
        assert peak <= 4 + 1
        assert srv.refused >= 150
        assert "kiosk_build_info" in scrape(srv.port)


def test_a_dripping_client_is_cut_off_by_the_deadline():
    reg = Metrics()
    with MonitoringServer("127.0.0.1", 0, reg, max_connections=2, idle_timeout_s=1.0, deadline_s=1.0) as srv:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.0\r\n")
        cut = False
        for _ in range(100):    # one header byte every 0.1 s: each read is within the idle timeout
            try:
                s.sendall(b"X")
                s.settimeout(0.1)
                if s.recv(1) == b"":
                    cut = True
                    break
            except TimeoutError:
                continue
            except OSError:
                cut = True
                break
        s.close()
        assert cut, "the server kept a dripping connection open for 10 s"
        assert "kiosk_build_info" in scrape(srv.port)


def test_sampled_gauges_give_the_alert_rules_their_backlog_ages(tmp_path):
    """The fleet alerts on 'journal backlog / staff queue older than N minutes': the kiosk must
    export the oldest entry's time, not only the length."""
    from types import SimpleNamespace

    from kiosk.appliance.gauges import app_gauges
    from kiosk.appliance.monitoring import GaugeSampler
    from kiosk.circulation import journal as j
    from kiosk.circulation.view import OUT_OF_SERVICE

    reg = Metrics()
    with j.Journal(tmp_path / "j.sqlite3") as journal:
        journal.record_intent("checkin", "item-1", state=j.QUEUED, acked=True, offline=True, now=1_000.0)
        journal.record_intent("checkin", "item-2", state=j.QUEUED, acked=True, offline=True, now=2_000.0)
        journal.record_intent("checkout", "item-3", patron_id="p", state=j.STAFF, now=1_500.0)
        printer = SimpleNamespace(status=lambda: SimpleNamespace(ok=False, paper_out=True))
        failing = SimpleNamespace(_thread=SimpleNamespace(failing="serial port gone"))
        app = SimpleNamespace(service=SimpleNamespace(journal=journal, online=False),
                              view=SimpleNamespace(state=OUT_OF_SERVICE),
                              devices=SimpleNamespace(printer=printer, tag_reader=failing,
                                                      card_reader=SimpleNamespace()))
        GaugeSampler(app_gauges(app), reg).sample()
    assert reg.get("journal_queue_length") == 2
    assert reg.get("journal_oldest_pending_timestamp_seconds") == 1_000.0
    assert reg.get("staff_queue_length") == 1 and reg.get("staff_queue_oldest_timestamp_seconds") == 1_500.0
    assert reg.get("library_system_up") == 0 and reg.get("in_service") == 0
    assert reg.get("device_fault", device="tag_reader") == 1 and reg.get("device_fault", device="card_reader") == 0
    assert reg.get("device_fault", device="printer") == 1 and reg.get("printer_paper_out") == 1
    assert reg.get("clock_synchronized") in (0.0, 1.0)   # this machine's real kernel state


def test_clock_synchronized_follows_the_kernel_state():
    from kiosk.appliance.gauges import TIME_ERROR, clock_synchronized

    assert clock_synchronized(lambda buf: TIME_ERROR) == 0.0    # no NTP since boot: stale clock
    assert clock_synchronized(lambda buf: 0) == 1.0             # TIME_OK
    assert clock_synchronized(lambda buf: -1) == 0.0            # the call failed: do not claim sync
