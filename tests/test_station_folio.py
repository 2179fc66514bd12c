"""Shelf check with FOLIO configured: items are marked seen with an item update (``lastCheckIn``,
kiosk/folio/seen.py cites why), against the demo library's FOLIO face -- end to end through
``kiosk inventory scan``, and FOLIO's optimistic locking (409, re-read once, then "not marked")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kiosk import config
from kiosk.cli import main
from kiosk.demo_ils.folio_http import FolioDemoServer
from kiosk.exitcodes import EXIT_OK
from kiosk.folio.ils import FolioIls
from kiosk.hardware.sim import SimTagReader
from kiosk.station.inventory import ACTIONS
from kiosk.station.service import Station
from tests.test_station_inventory import CASES, _pick

ROOT = Path(__file__).resolve().parent.parent
PUT = "/inventory/items/{id}"


@pytest.fixture
def folio(tmp_path, seeded_library):
    shutil.copy(seeded_library, tmp_path / "library.sqlite3")
    server = FolioDemoServer(tmp_path / "library.sqlite3").start()
    base = ["--config", str(ROOT / "config" / "demo.toml"), "--set", "ils.protocol=folio",
            "--set", f"ils.url={server.url}", "--set", f"storage.data_dir={tmp_path / 'data'}"]
    yield server, base
    server.stop()


def _available(server, n):
    return [i["barcode"] for i in server.db.export()["items"]
            if i["status"] == "available" and server.db.last_seen(i["barcode"]) is None][:n]


def test_inventory_scan_over_folio_marks_items_seen_in_the_demo(folio, capsys):
    server, base = folio
    a, b = _available(server, 2)
    code = main(["inventory", "scan", *base, "--shelf", "A-09", "--simulate", a, b])
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    lines = {x["item_id"]: x for x in map(json.loads, out.out.splitlines())}
    assert lines[a]["marked_seen"] == lines[b]["marked_seen"] == "yes"
    # FOLIO was asked over HTTP (not SIP2): the item read by barcode, then PUT
    assert ("PUT", PUT, 204) in [(m, "/inventory/items/{id}" if p.startswith("/inventory/items/") else p, s)
                                 for m, p, s in server.calls]
    # the demo recorded the seen date in the table SIP2 19 writes, and FOLIO shows it as lastCheckIn
    assert server.db.last_seen(a) is not None and server.db.last_seen(b) is not None
    row = server.db.query("SELECT terminal, properties FROM item_seen WHERE barcode = ?", (a,))[0]
    assert row["terminal"] == "folio" and "lastCheckIn" in row["properties"]
    item = server.view.item(a)
    assert item["lastCheckIn"]["dateTime"].endswith("Z") and item["_version"] == 2
    # the local report says the same
    code = main(["inventory", "report", *base, "--since", "2000-01-01", "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK and {(r["item_id"], r["shelf"], r["marked_seen"]) for r in rows} == \
        {(a, "A-09", "yes"), (b, "A-09", "yes")}


@pytest.fixture
def station(folio, tmp_path):
    server, _ = folio
    settings = config.load(ROOT / "config" / "demo.toml", ["ils.protocol=folio", f"ils.url={server.url}",
                                                            f"storage.data_dir={tmp_path / 'st'}"])
    ils = FolioIls.from_settings(settings)
    bodies = []
    call = ils.http.call

    def spy(method, path, **kw):
        if method == "PUT":
            bodies.append(kw["body"])
        return call(method, path, **kw)

    ils.http.call = spy
    st = Station(settings, SimTagReader(), ils=ils)
    st.shelf.set_shelf("B-02")
    yield st, server, bodies
    st.close()
    ils.close()


def test_a_409_is_read_again_and_sent_once_more(station):
    st, server, bodies = station
    item, = _available(server, 1)
    before = server.view.item(item)
    server.fail_next("PUT", PUT, "conflict")       # someone saves the item between our read and write
    result = st.shelf.barcode(item)
    assert result.marked_seen == "yes"
    assert [b["_version"] for b in bodies] == [1, 2]          # the stale version, then the re-read one
    # the full record as read goes back (a PUT replaces the record), plus lastCheckIn
    assert set(before) <= set(bodies[0]) and bodies[0]["title"] == before["title"]
    assert set(bodies[0]["lastCheckIn"]) == {"dateTime", "servicePointId"}
    assert server.db.last_seen(item) is not None


def test_two_409s_mean_not_marked_and_the_local_record_says_so(station):
    st, server, bodies = station
    item, = _available(server, 1)
    server.fail_next("PUT", PUT, "conflict", count=2)
    result = st.shelf.barcode(item)
    assert result.marked_seen == "no" and len(bodies) == 2     # one re-read, no third try
    assert server.db.last_seen(item) is None
    assert [r.marked_seen for r in st.store.seen_since("2000-01-01") if r.item_id == item] == ["no"]


def test_a_lost_put_reply_is_settled_by_reading_the_item_back(station):
    st, server, bodies = station
    item, = _available(server, 1)
    server.fail_next("PUT", PUT, "drop_after")     # stored, then the connection drops
    assert st.shelf.barcode(item).marked_seen == "yes"
    assert len(bodies) == 1                         # settled by the read, not sent again


def test_unknown_barcode_is_not_updated(station):
    st, server, bodies = station
    result = st.shelf.barcode("0000000000")
    assert [f.code for f in result.findings] == ["not_in_library"] and bodies == []


# ---------------------------------------------------------------------- every status, over FOLIO
@pytest.fixture(scope="module")
def folio_library(seeded_library, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("folio-inv")
    shutil.copy(seeded_library, tmp / "library.sqlite3")
    server = FolioDemoServer(tmp / "library.sqlite3").start()
    yield server
    server.stop()


@pytest.fixture
def folio_station(folio_library, tmp_path):
    settings = config.load(ROOT / "config" / "demo.toml", ["ils.protocol=folio", f"ils.url={folio_library.url}",
                                                            f"storage.data_dir={tmp_path}"])
    reader = SimTagReader()
    st = Station(settings, reader)          # the configured protocol: FOLIO, not SIP2
    st.shelf.set_shelf("FIC A-C")
    yield st, reader, folio_library
    st.close()
    st.ils.close()


@pytest.mark.parametrize("status,want,codes", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_every_demo_status_gives_its_exception_over_folio(folio_station, status, want, codes):
    st, reader, server = folio_station
    assert isinstance(st.ils, FolioIls)
    item = _pick(server, status, **want)
    result = st.shelf.tag_read(reader.read_tag(reader.place(item["barcode"], isil="DE-MUS1",
                                                            parts_in_item=item["parts"])))
    assert [f.code for f in result.findings] == codes, (item["barcode"], result.to_json())
    assert [f.action for f in result.findings] == [ACTIONS[c] for c in codes]
    assert result.marked_seen == "yes" and server.db.last_seen(item["barcode"]) is not None


def test_tag_program_over_folio_writes_one_tag_per_piece(folio, capsys):
    """FOLIO's numberOfPieces is the set's number of parts: `kiosk tag program` with FOLIO configured."""
    server, base = folio
    item = next(i for i in server.db.export()["items"] if i["parts"] > 1)
    code = main(["tag", "program", *base, item["barcode"], "--simulate"])
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    lines = [json.loads(x) for x in out.out.splitlines()]
    assert [(x["result"], x["part_number"], x["parts"]) for x in lines] == \
        [("verified", n, item["parts"]) for n in range(1, item["parts"] + 1)]
    assert any(m == "GET" and p == "/inventory/items" for m, p, _ in server.calls)      # FOLIO, not SIP2
