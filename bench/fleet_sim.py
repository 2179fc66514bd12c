"""Fleet simulation: N kiosk processes against one demo library system, scraped like Prometheus.

    .venv/bin/python bench/fleet_sim.py [--kiosks 50] [--seconds 60] [--period 10]

Each kiosk is its own process running the real circulation engine (KioskService, SIP2 client with
its connection pool, journal, statistics) and the appliance services (bounded /metrics endpoint,
gauge sampler) on simulated hardware without a window — the kiosk minus Kivy.  Every kiosk has its
own data directory and /metrics port on 127.0.0.1; each works a return (an item placed on the pad,
checked in over SIP2) about every ``--period`` seconds.  The one demo library system runs in this
process; its SIP2 handlers are counted.  At the end every /metrics endpoint is scraped (8 at a time,
as one Prometheus would) and the report gives the library system's load (messages per second by
kind, CPU), scrape sizes and times, and the kiosks' memory.  Loopback only; every child is ended.
Results: bench/results/fleet_sim.json and docs/deployment.md ("Fleet simulation").
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ITEMS = [f"39{n:08d}" for n in range(1, 400)]


# -- one kiosk (child process) -------------------------------------------------------------------

def run_kiosk(args: argparse.Namespace) -> int:
    from kiosk import config
    from kiosk.appliance.gauges import journal_gauges
    from kiosk.appliance.monitoring import start_appliance_services
    from kiosk.circulation import Journal, KioskService
    from kiosk.hardware import open_devices
    from kiosk.sip2.ils import SipIls

    data = Path(args.data)
    settings = config.load(config.DEMO_CONFIG, [
        f"storage.data_dir={data}", "hardware.simulate=true", f"ils.port={args.ils_port}",
        "ils.host=127.0.0.1", f"monitoring.listen=127.0.0.1:{args.metrics_port}", "kiosk.mode=returns",
        f"ils.location=SIM-KIOSK-{args.index}"])
    data.mkdir(parents=True, exist_ok=True)
    devices = open_devices(settings)
    ils = SipIls.from_settings(settings)
    journal = Journal(data / "journal.sqlite3")
    service = KioskService(settings, ils, journal, lambda view: None, security=devices.tag_reader)
    gauges = journal_gauges(journal)
    gauges["library_system_up"] = lambda: int(service.online)
    services = start_appliance_services(settings, gauges=gauges, demo=True)
    print("ready", flush=True)
    rng = random.Random(args.index)
    deadline = time.monotonic() + args.seconds
    time.sleep(rng.uniform(0, args.period))      # kiosks do not all act in the same second
    while time.monotonic() < deadline:
        item = rng.choice(ITEMS)
        service.start("return")                     # the patron taps "Return"
        service.item_seen(item, source="barcode")
        service.wait_idle(30)
        service.finish("none")
        service.wait_idle(30)
        service.tick()
        time.sleep(rng.expovariate(1 / args.period))
    services.stop()
    service.close()
    journal.close()
    ils.close()
    devices.close()
    return 0


# -- the fleet (parent) --------------------------------------------------------------------------

def scrape(port: int) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        body = resp.read()
    return len(body), time.perf_counter() - t0, body.decode()


def sample(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def run_fleet(args: argparse.Namespace) -> dict:
    from kiosk.demo_ils import server as demo_server

    counts: collections.Counter = collections.Counter()
    lock = threading.Lock()
    for code, handler in list(demo_server.HANDLERS.items()):
        def counted(*a, _h=handler, _c=code, **kw):  # noqa: ANN002,ANN003,ANN202
            with lock:
                counts[_c] += 1
            return _h(*a, **kw)
        demo_server.HANDLERS[code] = counted

    work = Path(tempfile.mkdtemp(prefix="kiosk-fleet-"))
    library = demo_server.DemoIlsServer(work / "demo-library.sqlite3", host="127.0.0.1", port=0,
                                        user="kiosk", password="kiosk", institution="DEMO", reset=True)
    library.start()
    children: list[subprocess.Popen] = []
    ports = [args.base_port + i for i in range(args.kiosks)]
    t_start = time.monotonic()
    try:
        for i, port in enumerate(ports):
            cmd = [sys.executable, __file__, "--child", "--index", str(i), "--ils-port", str(library.port),
                   "--metrics-port", str(port), "--data", str(work / f"kiosk-{i:02d}"),
                   "--seconds", str(args.seconds), "--period", str(args.period)]
            children.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                             env=dict(os.environ, KIOSK_LOG_LEVEL="ERROR")))
        for child in children:
            line = child.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"a kiosk did not start (exit {child.poll()})")
        startup_s = time.monotonic() - t_start
        with lock:
            counts.clear()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        time.sleep(args.seconds * 0.8)
        elapsed = time.monotonic() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        with lock:
            window = dict(counts)
        with ThreadPoolExecutor(max_workers=8) as pool:
            t_scrape = time.perf_counter()
            scrapes = list(pool.map(scrape, ports))
            scrape_all_s = time.perf_counter() - t_scrape
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        library.stop()
    sizes = [s for s, _, _ in scrapes]
    times = [t for _, t, _ in scrapes]
    rss = [sample(text, "process_resident_memory_bytes") or 0 for _, _, text in scrapes]
    names = {"93": "login", "99": "sc_status", "09": "checkin", "11": "checkout", "17": "item_information",
             "63": "patron_information", "35": "end_session", "29": "renew"}
    cpu_s = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return {
        "kiosks": args.kiosks, "window_s": round(elapsed, 1), "startup_s": round(startup_s, 1),
        "period_s": args.period,
        "library_messages_per_s": round(sum(window.values()) / elapsed, 2),
        "library_messages_by_kind": {names.get(k, k): v for k, v in sorted(window.items())},
        "library_cpu_percent_of_one_core": round(100 * cpu_s / elapsed, 1),
        "scrape_bytes": {"min": min(sizes), "median": int(statistics.median(sizes)), "max": max(sizes),
                         "fleet_total": sum(sizes)},
        "scrape_ms": {"median": round(1000 * statistics.median(times), 1), "max": round(1000 * max(times), 1)},
        "scrape_all_kiosks_s": round(scrape_all_s, 2),
        "kiosk_rss_mb": {"median": round(statistics.median(rss) / 2**20, 1), "max": round(max(rss) / 2**20, 1)},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiosks", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0, help="how long each kiosk works")
    ap.add_argument("--period", type=float, default=10.0, help="mean seconds between one kiosk's returns")
    ap.add_argument("--base-port", type=int, default=19100, help="first /metrics port (127.0.0.1)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--ils-port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--metrics-port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--data", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return run_kiosk(args)
    if not 1 <= args.kiosks <= 200:
        ap.error("--kiosks: 1 to 200")
    report = run_fleet(args)
    print(json.dumps(report, indent=1))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "fleet_sim.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
