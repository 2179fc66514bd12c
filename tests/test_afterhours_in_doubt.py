"""A book-drop return whose check-in was sent as the library system went down (rule 2).

The request reached the library, which may or may not have acted on it, and no answer came back:
the return is in doubt.  The patron was told "accepted" (it is journaled), so it must be neither
lost nor guessed: it stays ``unknown`` in the journal -- across a restart of the kiosk, and while
the library is still down -- and once the library is back it is resolved with Item Information
(circulation ``Replayer``): resent with its drop time if the library had not acted, left alone if it
had.  Either way the item is checked in exactly once, at its drop time.

This is what tests/test_afterhours_night.py met by chance under machine load (its library went
down while a check-in was on the wire); here the timing is made, not hoped for.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest

from kiosk.afterhours import slot as S
from kiosk.circulation import journal as J
from kiosk.demo_ils.db import fmt
from kiosk.hardware.records import TagRead
from tests.test_afterhours_bookdrop import Rig, on_loan, returned_at


def goes_down_during_checkin(library, acted: bool, monkeypatch) -> threading.Thread:  # noqa: ANN001
    """Make the demo library receive the next check-in (and carry it out when ``acted``), then go
    down before answering it.  Returns the thread that stops it (started; it waits for the request).
    The library's face stays down; its database stays open for the test to read."""
    arrived, down = threading.Event(), threading.Event()
    if library.folio is not None:
        from kiosk.demo_ils import folio_http

        app, fault, write = library.folio, library.folio._fault, folio_http.write

        def hooked_fault(method: str, path: str) -> str | None:
            if (method, path) != ("POST", "/circulation/check-in-by-barcode") or arrived.is_set():
                return fault(method, path)
            if acted:
                return "drop_after"               # carried out (hooked_write), then no answer
            arrived.set()
            down.wait(10)                         # the HTTP face is gone before the answer
            return "drop_before"

        def hooked_write(folio, route: str, body: dict) -> tuple:  # noqa: ANN001
            out = write(folio, route, body)
            if route == "/circulation/check-in-by-barcode" and acted and not arrived.is_set():
                arrived.set()
                down.wait(10)
            return out

        app._fault = hooked_fault
        monkeypatch.setattr(folio_http, "write", hooked_write)     # the gateway's route table call

        def stop() -> None:
            arrived.wait(10)
            app.stop()
            down.set()
    else:
        sip, process = library.sip, library.sip.process

        def hooked_process(ctx, frame: bytes) -> bytes:  # noqa: ANN001
            if not frame.startswith(b"09") or arrived.is_set():
                return process(ctx, frame)
            if acted:
                process(ctx, frame)               # checked in; the answer is never sent
            arrived.set()
            sip._stopping.wait(10)                # the server goes down before answering
            return b""

        sip.process = hooked_process

        def stop() -> None:
            arrived.wait(10)
            sip.stop()
    stopper = threading.Thread(target=stop, name="library-goes-down", daemon=True)
    stopper.start()
    return stopper


@pytest.mark.both_protocols
@pytest.mark.parametrize("acted", [False, True], ids=["not_acted", "acted"])
def test_a_check_in_lost_as_the_library_goes_down_is_resolved_not_guessed(tmp_path, demo_library, acted,
                                                                          monkeypatch):
    library = demo_library
    (barcode,) = on_loan(library)
    rig = Rig(tmp_path, library, start=time.time() - 3 * 3600)
    back = None
    try:
        stopper = goes_down_during_checkin(library, acted, monkeypatch)
        rig.drop.request_open()
        rig.tick()
        dropped = rig.clock.now
        rig.drop_item(TagRead("U" + barcode, barcode))
        rig.tick(1.5)                            # the read window is over: journaled, sent
        stopper.join(10)
        assert not stopper.is_alive()
        assert rig.drop.wait_idle(20)
        rig.tick(1.5)
        assert rig.drop.view().items[0].state == S.QUEUED          # "accepted", waiting for the library
        (row,) = rig.journal.rows()
        assert (row.state, row.acked) == (J.UNKNOWN, True), row     # in doubt, and promised
        assert len(library.db.checkins_of(barcode)) == (1 if acted else 0)
        rig.drop.sync()                          # the library is still down: nothing is guessed
        assert rig.drop.wait_idle(20)
        assert [r.state for r in rig.journal.rows()] == [J.UNKNOWN]
        rig.close()

        library.stop()
        back = library.restarted()               # the library is back; so is the kiosk (a restart)
        rig = Rig(tmp_path, back, start=rig.clock.now + 3600)
        rig.drop.sync()
        assert rig.drop.wait_idle(20)
        rig.tick()
        (row,) = rig.journal.rows()
        assert row.state == J.SYNCED, row
        assert returned_at(back, barcode) == [fmt(datetime.fromtimestamp(dropped))]   # at the drop time
        assert len(back.db.checkins_of(barcode)) == 1                                 # exactly once
        (rec,) = rig.drop.drop_log.between(0)
        assert rec.state == S.CHECKED_IN and rig.drop.view().pending_sync == 0
    finally:
        rig.close()
        if back is not None:
            back.stop()
