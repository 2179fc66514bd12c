"""The station page's state machine (no Kivy): batch programming and the shelf check, as staff use it."""

from __future__ import annotations

import pytest

from kiosk.hardware.sim import SimTagReader
from kiosk.station.desk import PROGRAM, SHELF, StationDesk, next_label
from kiosk.station.inventory import ShelfRules
from kiosk.station.program import ItemRecord, TagSettings
from kiosk.station.programmer import TagProgrammer
from kiosk.station.shelf import ShelfCheck
from kiosk.station.store import VERIFIED, StationStore

CATALOGUE = {
    "3900000001": ItemRecord("3900000001", title="Le Petit Prince", media_type="001", home_branch="MAIN",
                             circulation_status="03"),
    "3900000137": ItemRecord("3900000137", title="Box set", media_type="006", parts=2, home_branch="MAIN",
                             circulation_status="03"),
    "3900000009": ItemRecord("3900000009", title="On loan", media_type="001", home_branch="MAIN",
                             circulation_status="04"),
}


class Lib:
    def lookup(self, item_id):  # noqa: ANN001,ANN201
        return CATALOGUE.get(item_id, ItemRecord(item_id, known=False))

    def mark_seen(self, *_a):  # noqa: ANN002,ANN201
        return "yes"

    checked_in: list = []

    def check_in(self, item_id):  # noqa: ANN001,ANN201
        self.checked_in.append(item_id)
        return (item_id != "3900000666", "Hold for a patron: hold shelf" if item_id == "3900000009" else "")


class FakeStation:
    def __init__(self, reader, tmp):  # noqa: ANN001
        self.reader = reader
        self.store = StationStore(tmp / "s.sqlite")
        self.programmer = TagProgrammer(reader, Lib(), self.store, TagSettings(owner_isil="DE-MUS1"),
                                        staff_session="desk")
        self.shelf = ShelfCheck(Lib(), self.store, ShelfRules(branch="MAIN", model="28560-3", owner_isil="DE-MUS1"),
                                reader=reader)

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def desk(tmp_path):
    reader = SimTagReader()
    views, cues = [], []
    d = StationDesk(lambda: FakeStation(reader, tmp_path), views.append, cue=cues.append)
    d.open(PROGRAM)
    d.drain()
    yield d, reader, views, cues
    d.close()


def place(d, reader, **kw):  # noqa: ANN001,ANN201
    uid = reader.place_blank(**kw) if not kw.get("data") else reader.place(**kw)
    d.tag_present(reader.read_tag(uid))
    d.drain()
    return uid


def lift(d, reader, uid):  # noqa: ANN001
    reader.remove(uid)
    d.tag_removed(uid)
    d.drain()


def test_scan_place_done_then_the_next_item_without_touching_the_screen(desk):
    d, reader, views, cues = desk
    d.scanned("3900000001")
    d.drain()
    assert d.view.step == "place" and d.view.item.title == "Le Petit Prince"
    uid = place(d, reader)
    assert d.view.message == "done" and d.view.ok and d.view.items_done == 1 and cues[-1] == "success"
    assert reader.read_tag(uid).item_id == "3900000001"
    lift(d, reader, uid)
    d.scanned("3900000137")                  # a two-part set: two tags, numbered
    d.drain()
    first = place(d, reader)
    assert (d.view.message, d.view.part, d.view.parts) == ("done_next_part", 2, 2)
    second = place(d, reader)                # part 1 still on the pad: refused, nothing written
    assert d.view.message == "two_tags" and reader.read_tag(second).item_id is None
    lift(d, reader, first)                   # lifting part 1 leaves part 2 alone: it is written
    assert d.view.message == "done" and d.view.items_done == 2 and d.view.tags_done == 3
    assert (reader.read_tag(second).part_number, reader.read_tag(second).parts_in_item) == (2, 2)
    assert [r.result for r in d.station.store.tags_since()] == [VERIFIED] * 3


def test_unknown_barcode_and_overwrite_confirmation(desk):
    d, reader, views, cues = desk
    d.scanned("NOPE")
    d.drain()
    assert (d.view.message, d.view.step, cues[-1]) == ("unknown_item", "scan", "failure")
    d.scanned("3900000001")
    d.drain()
    from kiosk.tags import encode_tag
    uid = place(d, reader, data=encode_tag("28560-3", "1000000056", isil="DK-718500"))
    assert d.view.step == "confirm" and d.view.old_item_id == "1000000056"
    assert reader.read_tag(uid).item_id == "1000000056"        # nothing written before staff said so
    d.confirm_overwrite()
    d.drain()
    assert d.view.message == "done" and reader.read_tag(uid).item_id == "3900000001"


def test_a_barcode_only_tag_placed_without_scanning_is_converted(desk):
    d, reader, *_ = desk
    uid = reader.place_barcode_only("3900000001")
    d.tag_present(reader.read_tag(uid))
    d.drain()
    assert d.view.message == "done" and reader.read_tag(uid).model == "28560-3"


def test_shelf_mode_lists_only_items_that_need_action(desk):
    d, reader, views, cues = desk
    d.set_mode(SHELF)
    d.set_shelf("A-09")
    d.drain()
    for item_id in ("3900000001", "3900000009"):
        d.tag_present(reader.read_tag(reader.place(item_id, isil="DE-MUS1")))
    d.scanned("UNKNOWN1")
    d.drain()
    assert (d.view.seen, d.view.need_action) == (3, 2)
    assert [r.item_id for r in d.view.exceptions] == ["UNKNOWN1", "3900000009"]
    d.next_shelf()
    d.drain()
    assert d.view.shelf == "A-10"
    assert [r.shelf for r in d.station.store.seen_since()] == ["A-09"] * 3


def test_next_shelf_label():
    assert [next_label(x) for x in ("A-09", "3", "Fiction", "")] == ["A-10", "4", "Fiction 2", "1"]


def test_demo_panel_places_blank_and_barcode_only_tags():
    from types import SimpleNamespace

    from kiosk.station.demo import panel_actions
    from kiosk.station.program import classify

    reader = SimTagReader()
    actions = dict(panel_actions({"items": [{"barcode": "3900000001", "status": "available"}]},
                                 SimpleNamespace(tag_reader=reader)))
    actions["Place a blank tag"]()
    actions["Place a barcode-only tag (3900000001)"]()
    kinds = sorted(classify(reader.memory(uid)).kind for uid in reader.inventory())
    assert kinds == ["barcode-only", "blank"]


def test_an_empty_tag_placed_first_waits_for_the_barcode(desk):
    d, reader, *_ = desk
    uid = place(d, reader)
    assert d.view.message == "scan_first" and reader.read_tag(uid).item_id is None
    d.scanned("3900000001")
    d.drain()
    assert d.view.message == "done" and reader.read_tag(uid).item_id == "3900000001"


def test_shelf_check_offers_check_in_and_reprogramming_for_the_item_just_read(desk):
    d, reader, views, cues = desk
    Lib.checked_in.clear()
    d.set_mode(SHELF)
    d.drain()
    loaned = reader.place("3900000009", isil="DE-MUS1")       # on loan, yet on the shelf
    d.tag_present(reader.read_tag(loaned))
    d.drain()
    assert (d.view.offer, d.view.offer_item) == ("check_in", "3900000009")
    d.act()
    d.drain()
    assert Lib.checked_in == ["3900000009"] and d.view.message == "checked_in" and cues[-1] == "success"
    assert "hold shelf" in d.view.detail and d.view.exceptions == () and d.view.offer == ""
    d.act()                                   # the offer was taken: a second tap does nothing
    d.drain()
    assert Lib.checked_in == ["3900000009"]
    lift(d, reader, loaned)
    # a barcode-only tag of a known item: offered reprogramming, which opens programming with it
    uid = reader.place_barcode_only("3900000001")
    d.tag_present(reader.read_tag(uid))
    d.drain()
    assert (d.view.offer, d.view.offer_item) == ("reprogram", "3900000001")
    d.act()
    d.drain()
    assert d.view.mode == PROGRAM and d.view.item.item_id == "3900000001"
    assert reader.read_tag(uid).model == "28560-3"          # the tag on the pad was rewritten
    # an item that is fine clears the offer
    d.set_mode(SHELF)
    d.drain()
    d.tag_present(reader.read_tag(reader.place("3900000137", isil="DE-MUS1", parts_in_item=2)))
    d.drain()
    assert d.view.offer == "" and d.view.offer_item == ""


def test_a_tag_whose_barcode_the_library_does_not_know_is_not_offered_reprogramming(desk):
    """A barcode-only tag of an item the library system does not know, found on a shelf: it is
    listed (to be catalogued, and its tag is old), but not offered "Reprogram the tag" -- that
    would only answer "unknown barcode".  Asked all the same, programming says so, waits for a
    scan and writes nothing."""
    d, reader, views, cues = desk
    d.set_mode(SHELF)
    d.drain()
    uid = reader.place_barcode_only("UNKNOWN7")
    d.tag_present(reader.read_tag(uid))
    d.drain()
    (listed,) = d.view.exceptions
    assert listed.item_id == "UNKNOWN7"
    assert {f.action for f in listed.findings} >= {"catalogue", "reprogram"}
    assert (d.view.offer, d.view.offer_item) == ("", "")
    before = reader.read_tag(uid)
    d.set_mode(PROGRAM)
    d.scanned("UNKNOWN7")
    d.drain()
    assert (d.view.step, d.view.message, d.view.detail, cues[-1]) == ("scan", "unknown_item", "UNKNOWN7", "failure")
    after = reader.read_tag(uid)
    assert (after.item_id, after.model) == (before.item_id, before.model)       # nothing written


def test_what_the_page_says_about_the_pad_follows_the_pad(desk):
    """Found by hand in the real window: 'already programmed 3900000004' stayed after the item was
    lifted, and two tags placed before a scan were not called two tags."""
    d, reader, *_ = desk
    programmed = reader.place("3900000001", isil="DE-MUS1")          # a tag programmed earlier
    d.tag_present(reader.read_tag(programmed))
    d.drain()
    assert d.view.message == "already_programmed" and d.view.detail == "3900000001"
    other = place(d, reader)
    assert d.view.message == "two_tags" and d.view.ok is False
    lift(d, reader, other)
    assert d.view.message == "already_programmed" and d.view.detail == "3900000001"
    lift(d, reader, programmed)
    assert d.view.message == "scan_first" and d.view.detail == ""
