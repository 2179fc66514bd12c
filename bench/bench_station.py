"""Staff-station benchmarks (issue 17), each beside a baseline measured in the same run.

* Shelf check throughput with the simulated reader: stacks of 10 items placed on the pad, every
  tag read by the reader's own polling thread, looked up (SIP2 17), reported seen (SIP2 19, the
  demo library records the date) and recorded locally with fsync.  Target >= 100 items/minute
  (issue 17 item 3).  Baseline: the bare SIP2 Item Information round trips for the same items
  (what the library system alone costs).
* Tag programming with the simulated reader: look-up, plan, write, security, read-back, verify and
  the two durable record commits per tag.  Target >= 100 tags/minute (the pad and the library
  system must never be what staff wait for; a person places about 10-20 items a minute).
  Baseline: the bare write + read-back of the same bytes on the simulated reader.
* Shelf check over FOLIO (the demo library's FOLIO face on loopback): per item the look-up
  (item by barcode, its open loan, its open requests) and the seen update (item read again, PUT
  with ``_version``).  Same target.  Baseline: bare ``GET /inventory/items?query=barcode==`` for
  the same items (one FOLIO round trip).
"""

from __future__ import annotations

import queue
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, write_results  # noqa: E402
from kiosk import config  # noqa: E402
from kiosk.demo_ils.server import DemoIlsServer  # noqa: E402
from kiosk.hardware.sim import SimTagReader  # noqa: E402
from kiosk.sip2.codec import ItemInformationRequest  # noqa: E402
from kiosk.station.service import Station  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STACK = 10
ITEMS = 200
TAGS = 100
FOLIO_ITEMS = 100


def shelf_check(station: Station, reader: SimTagReader, barcodes: list[str]) -> float:
    """Items per minute through the whole shelf check, stacks of STACK on the pad."""
    reads: queue.Queue = queue.Queue()
    reader.when_tag_present = reads.put
    reader.start()
    done = 0
    t0 = time.perf_counter()
    for s in range(0, len(barcodes), STACK):
        station.shelf.set_shelf(f"shelf {s // STACK}")
        stack = barcodes[s:s + STACK]
        for b in stack:
            reader.place(b, isil="DE-MUS1")
        for _ in stack:
            tag = reads.get(timeout=10)
            if station.shelf.tag_read(tag) is not None:
                done += 1
        reader.clear()
    elapsed = time.perf_counter() - t0
    reader.when_tag_present = None
    return done / elapsed * 60.0


def bare_lookups(station: Station, barcodes: list[str]) -> float:
    ils = station.ils
    t0 = time.perf_counter()
    for b in barcodes:
        ils.pool.request(ItemInformationRequest(transaction_date=datetime.now().replace(microsecond=0),
                                                institution_id=ils.institution, item_id=b))
    return len(barcodes) / (time.perf_counter() - t0) * 60.0


def programming(station: Station, reader: SimTagReader, barcodes: list[str]) -> float:
    t0 = time.perf_counter()
    n = 0
    for b in barcodes:
        reader.clear()
        reader.place_blank()
        item = station.programmer.lookup(b)
        for plan in station.programmer.plans(item, parts=1):
            result = station.programmer.program(plan)
            if not result.ok:
                raise SystemExit(f"{b}: {result.code} {result.problems}")
            n += 1
    return n / (time.perf_counter() - t0) * 60.0


def bare_write(reader: SimTagReader, station: Station, barcodes: list[str]) -> float:
    plans = [station.programmer.plans(station.programmer.lookup(b), parts=1)[0] for b in barcodes]
    t0 = time.perf_counter()
    for plan in plans:
        reader.clear()
        uid = reader.place_blank()
        reader.write_blocks(uid, 0, plan.data)
        reader.read_blocks(uid, 0, reader.blocks_to_read)
    return len(plans) / (time.perf_counter() - t0) * 60.0


def folio_shelf_check(tmp: str, barcodes: list[str]) -> tuple[float, float]:
    """(items/min through the shelf check over FOLIO, bare item GETs/min) in one run."""
    from kiosk.demo_ils.folio_http import FolioDemoServer
    from kiosk.folio import cql

    server = FolioDemoServer(Path(tmp) / "folio.sqlite3").start()
    try:
        settings = config.load(ROOT / "config" / "demo.toml", ["ils.protocol=folio", f"ils.url={server.url}",
                                                               f"storage.data_dir={tmp}/folio"])
        reader = SimTagReader(poll_interval=0.05)
        station = Station(settings, reader)
        try:
            ils = station.ils
            ils.service_point_id()
            t0 = time.perf_counter()
            for b in barcodes:
                ils._collection("/inventory/items", "items", cql.item_by_barcode(b), 1)
            base = len(barcodes) / (time.perf_counter() - t0) * 60.0
            rate = shelf_check(station, reader, barcodes)
        finally:
            reader.close()
            station.close()
            station.ils.close()
    finally:
        server.stop()
    return rate, base


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        server = DemoIlsServer(Path(tmp) / "library.sqlite3").start()
        try:
            settings = config.load(ROOT / "config" / "demo.toml", [f"ils.port={server.port}",
                                                                   f"storage.data_dir={tmp}"])
            barcodes = [it["barcode"] for it in server.db.export()["items"]][:ITEMS]
            reader = SimTagReader(poll_interval=0.05)
            station = Station(settings, reader)
            try:
                base_lookup = bare_lookups(station, barcodes)
                rate = shelf_check(station, reader, barcodes)
                reader.close()
                pad = SimTagReader()
                station2 = Station(settings, pad, ils=station.ils)
                base_write = bare_write(pad, station2, barcodes[:TAGS])
                prog = programming(station2, pad, barcodes[:TAGS])
                station2.store.close()
            finally:
                station.close()
        finally:
            server.stop()
        folio_rate, folio_base = folio_shelf_check(tmp, barcodes[:FOLIO_ITEMS])
    records = [
        record("shelf check (sim reader, SIP2 17+19, fsync)", rate, "item/min", base_lookup,
               ">= 100 item/min", rate >= 100),
        record("tag programming (sim reader, verify, fsync)", prog, "tag/min", base_write,
               ">= 100 tag/min", prog >= 100),
        record("shelf check over FOLIO (sim reader, 4 GETs + PUT, fsync)", folio_rate, "item/min", folio_base,
               ">= 100 item/min", folio_rate >= 100),
    ]
    write_results("station", records)
    return 0 if all(r["met"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
