"""Demo library system under load: 20 kiosks checking items out and in at once.

Target: a library with 20 kiosks, each doing a transaction every couple of seconds, needs about
10 transactions/s; the demo library must sustain well over that (>= 100/s) with a p95 reply time
under 100 ms, so it never is the bottleneck of a test, a tour or a benchmark of the kiosk.
Baseline, measured in the same run: the same work from one kiosk alone (sequential round trips).
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, record, write_results  # noqa: E402
from kiosk.demo_ils.server import DemoIlsServer  # noqa: E402
from kiosk.sip2 import codec as c  # noqa: E402

KIOSKS = 20
ROUNDS = 10          # checkout + checkin pairs per kiosk and item set


class Kiosk:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.seq = 0
        self.times: list[float] = []

    def request(self, rec: c.Message) -> c.Message:
        self.seq = (self.seq + 1) % 10
        t0 = time.perf_counter()
        self.sock.sendall(c.encode(rec, seq=self.seq))
        while b"\r" not in self.buf:
            self.buf += self.sock.recv(8192)
        frame, self.buf = self.buf.split(b"\r", 1)
        self.times.append(time.perf_counter() - t0)
        return c.decode(frame.lstrip(b"\n"))

    def work(self, card: str, barcodes: list[str]) -> int:
        done = 0
        for _ in range(ROUNDS):
            for b in barcodes:
                assert self.request(c.CheckoutRequest(institution_id="DEMO", patron_id=card, item_id=b)).ok
                assert self.request(c.CheckinRequest(institution_id="DEMO", item_id=b, current_location="M")).ok
                done += 2
        return done


def run(kiosks: int, tmp: Path) -> tuple[float, list[float]]:
    """Transactions per second and all reply times with ``kiosks`` kiosks working at once."""
    with DemoIlsServer(tmp / f"bench{kiosks}.sqlite", reset=True) as srv:
        exp = srv.db.export()
        patrons = [p["card"] for p in exp["patrons"] if p["status"] == "ok"][:KIOSKS]
        shelf = [i["barcode"] for i in exp["items"] if i["status"] == "available" and i["media"] == "book"
                 and not i["holds"] and i["home_branch"] == "MAIN"]
        clients = [Kiosk(srv.port) for _ in range(kiosks)]
        for k in clients:
            assert k.request(c.LoginRequest(login_user_id="kiosk", login_password="kiosk")).ok
            k.times.clear()
        counts = [0] * kiosks
        barrier = threading.Barrier(kiosks + 1)

        def body(i: int) -> None:
            barrier.wait()
            counts[i] = clients[i].work(patrons[i], shelf[i * 3:(i + 1) * 3])

        threads = [threading.Thread(target=body, args=(i,)) for i in range(kiosks)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        times = [x for k in clients for x in k.times]
        for k in clients:
            k.sock.close()
        assert sum(counts) == kiosks * ROUNDS * 6
        return sum(counts) / elapsed, times


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        single_rate, single_times = run(1, tmp)
        rate, times = run(KIOSKS, tmp)
    p95, single_p95 = percentile(times, 95) * 1000, percentile(single_times, 95) * 1000
    write_results("demo_ils", [
        record(f"transactions/s with {KIOSKS} kiosks", rate, "tx/s", single_rate, ">= 100 tx/s", rate >= 100),
        record(f"p95 reply time with {KIOSKS} kiosks", p95, "ms", single_p95, "< 100 ms", p95 < 100),
    ])


if __name__ == "__main__":
    main()
