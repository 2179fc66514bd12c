"""Staff station: a crash in the middle of programming a tag is settled by the next read of that UID.

A real child process is killed (``os._exit``) inside the write to a FEIG reader simulator; the
record it left says ``unverified`` and the restarted station settles it against the tag.
"""

from __future__ import annotations

import multiprocessing
import os

import pytest

from kiosk.hardware.feig import FeigReader
from kiosk.hardware.feig_sim import FeigSimulator, PtyFeigReader, SimTag
from kiosk.station.program import ItemRecord, TagSettings
from kiosk.station.programmer import TagProgrammer
from kiosk.station.store import FAILED, UNVERIFIED, VERIFIED, StationStore
from tests.test_station_program import ISIL, Lib, SimPad, programmer


# ------------------------------------------------------------------------ crash mid-write
def _crash_child(port: str, db: str, when: str) -> None:
    """Program a tag in a child process that dies (os._exit) in the middle of the job."""
    reader = FeigReader(port, timeout=0.5)
    original = reader.write_blocks

    def write(uid, first, data):                      # noqa: ANN001
        if when == "after_write":
            original(uid, first, data)
        os._exit(9)                                   # power cut: no settle, no cleanup

    reader.write_blocks = write
    store = StationStore(db)
    prog = TagProgrammer(reader, Lib(), store, TagSettings(model="28560-3", owner_isil=ISIL), staff_session="crash")
    (plan,) = prog.plans(Lib().lookup("3900000012"))
    prog.program(plan)
    os._exit(0)                                       # not reached


@pytest.mark.parametrize("when,settled", [("before_write", FAILED), ("after_write", FAILED)])
def test_crash_mid_write_leaves_unverified_and_the_next_read_settles_it(tmp_path, when, settled):
    sim = FeigSimulator()
    uid = sim.add(SimTag(uid="E004015000000077", data=b"", afi=0x00, eas=False))
    db = str(tmp_path / "station.sqlite")
    with PtyFeigReader(sim) as pty:
        proc = multiprocessing.get_context("fork").Process(target=_crash_child, args=(pty.port, db, when))
        proc.start()
        proc.join(30)
        assert proc.exitcode == 9
        store = StationStore(db)
        (rec,) = store.unverified()
        assert rec.uid == uid and rec.result == UNVERIFIED and rec.staff_session == "crash"
        written = sim.tags[uid].data[:len(bytes.fromhex(rec.data_hex))] == bytes.fromhex(rec.data_hex)
        assert written == (when == "after_write")
    # the restarted station: the same tags, a fresh serial link (a pty cannot be opened twice)
    with PtyFeigReader(sim) as pty:
        reader = FeigReader(pty.port, timeout=0.5)
        prog = TagProgrammer(reader, Lib(), store, TagSettings(model="28560-3", owner_isil=ISIL))
        # security never switched on before the crash: the tag is not done, whatever its data says
        assert [s.result for s in prog.settle_pending(uid)] == [settled]
        assert store.unverified() == [] and store.tags_since()[0].detail.startswith("settled after")
        # programming it again now completes the job
        (plan,) = prog.plans(Lib().lookup("3900000012"))
        assert prog.program(plan).ok
        assert [r.result for r in store.tags_since()] == [settled, VERIFIED]
        reader.close()
        store.close()


def test_crash_after_a_complete_write_settles_as_verified_on_the_next_read(tmp_path):
    pad = SimPad()
    store = StationStore(tmp_path / "s.sqlite")
    prog = programmer(pad, store)
    (plan,) = prog.plans(Lib().lookup("3900000012"))
    uid = pad.blank()
    # what a crash after write + security but before the settle leaves behind
    row = store.begin_tag(uid=uid, item_id=plan.item_id, model=plan.model, part_number=1, parts=1,
                          owner_isil=ISIL, data=plan.data, staff_session="x")
    pad.reader.write_blocks(uid, 0, plan.data)
    pad.reader.set_security(uid, True)
    store.close()
    store = StationStore(tmp_path / "s.sqlite")             # restart
    from kiosk.station.inventory import ShelfRules
    from kiosk.station.shelf import ShelfCheck

    class NoLib:
        def lookup(self, item_id):  # noqa: ANN001,ANN202
            return ItemRecord(item_id, circulation_status="03", home_branch="MAIN")

        def mark_seen(self, *a):  # noqa: ANN002,ANN202
            return "yes"

    prog = programmer(pad, store)
    shelf = ShelfCheck(NoLib(), store, ShelfRules(), shelf="A", reader=pad.reader, settle=prog.settle_pending)
    shelf.tag_read(pad.reader.read_tag(uid))                 # the next read of that uid (a shelf check)
    (rec,) = store.tags_since()
    assert rec.id == row and rec.result == VERIFIED and rec.settled_at
    store.close()
