"""Appliance layer: staff PIN check cost, metrics update cost, /metrics scrape, watchdog tick.

* Staff PIN verification must be slow for an attacker yet quick for staff: 20-500 ms per try
  (baseline: one plain SHA-256, what a naive implementation would store).
* ``metrics.inc`` is called from circulation workers on every item: < 20 us
  (baseline: a dict increment under a lock).
* A Prometheus scrape of /metrics with 60 series: p95 < 50 ms (baseline: a 404 from the same server).
* The watchdog tick runs on Kivy's main thread: < 1 ms (baseline: an empty callable).
"""

from __future__ import annotations

import hashlib
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, record, timed, write_results  # noqa: E402
from kiosk.appliance.endpoint import MonitoringServer  # noqa: E402
from kiosk.appliance.monitoring import Metrics  # noqa: E402
from kiosk.appliance.watchdog import Notifier, start_watchdog  # noqa: E402
from kiosk.staff.auth import hash_secret, verify_secret  # noqa: E402


def _get(url: str) -> None:
    try:
        urllib.request.urlopen(url, timeout=5).read()
    except urllib.error.HTTPError as err:
        err.read()


def main() -> list[dict]:
    records = []

    h = hash_secret("4711")
    pin = statistics.median(timed(lambda: verify_secret("4711", h), repeat=7))
    sha = statistics.median(timed(lambda: hashlib.sha256(b"4711").digest(), repeat=7))
    records.append(record("staff_pin_verify_s", pin, "s", sha, "20 ms to 500 ms", 0.02 <= pin <= 0.5))

    reg = Metrics()
    n = 50_000
    t0 = time.perf_counter()
    for _ in range(n):
        reg.inc("transactions_total", kind="checkout")
    inc = (time.perf_counter() - t0) / n
    d, lock = {}, threading.Lock()
    t0 = time.perf_counter()
    for _ in range(n):
        with lock:
            d[("kind", "checkout")] = d.get(("kind", "checkout"), 0) + 1
    base = (time.perf_counter() - t0) / n
    records.append(record("metrics_inc_s", inc, "s", base, "< 20 us", inc < 20e-6))

    for i in range(20):
        reg.inc("refusals_total", kind="checkout", reason=f"reason_{i}")
        reg.inc("afterhours_failures_total", reason=f"reason_{i}")
        reg.set("journal_queue_length", i)
    with MonitoringServer("127.0.0.1", 0, reg) as srv:
        url = f"http://127.0.0.1:{srv.port}"
        scrape = timed(lambda: _get(url + "/metrics"), repeat=200)
        miss = timed(lambda: _get(url + "/missing"), repeat=200)
    records.append(record("metrics_scrape_p95_s", percentile(scrape, 95), "s", percentile(miss, 95),
                          "p95 < 50 ms", percentile(scrape, 95) < 0.05))

    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        path = os.path.join(tmp, "n")
        sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sink.bind(path)
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        events = []
        dog = start_watchdog(lambda cb, period: events.append(cb), notifier=Notifier(path))
        tick = events[0]

        def drain() -> None:
            sink.setblocking(False)
            try:
                while True:
                    sink.recv(64)
            except BlockingIOError:
                pass

        ticks = []
        for _ in range(200):
            t0 = time.perf_counter()
            tick(0.016)
            ticks.append(time.perf_counter() - t0)
            drain()
        empty = timed(lambda: None, repeat=200)
        dog.stop()
        sink.close()
    records.append(record("watchdog_tick_p95_s", percentile(ticks, 95), "s", percentile(empty, 95),
                          "p95 < 1 ms", percentile(ticks, 95) < 1e-3))
    write_results("appliance", records)
    return records


if __name__ == "__main__":
    main()
