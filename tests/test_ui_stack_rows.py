"""A stack read at once comes onto the items list one row a frame (kiosk/screens/items.py, issue 19).

Each new row on screen costs its kv rules, box layouts and text renders; three in one frame were
the busiest frame of a checkout on a Pi's CPU.  The time is a benchmark (bench/bench_ui.py); here
the behaviour: never more than one new row a frame, every item shown in the end, newest first, and
a new row moves none of the rows already on the list.
"""

from __future__ import annotations

import pytest

from tests.gui_steps import borrow_one, open_borrowing, shelf

pytestmark = pytest.mark.gui


def test_a_stack_placed_at_once_appears_one_row_a_frame_and_all_of_it(gui_kiosk):
    with gui_kiosk() as k:
        d, app, lib = k.driver, k.app, k.library
        from kivy.clock import Clock

        items = shelf(lib, 5)
        open_borrowing(k)
        rv = app.screen("items").ids.rv
        counts: list[int] = []
        ev = Clock.schedule_interval(lambda _dt: counts.append(len(rv.data)), 0)   # once a frame
        for item in items:                      # all five on the pad before the next frame
            k.devices.tag_reader.place(item["barcode"])
        d.until(lambda: len(app.view.items) == 5 and all(i.settled for i in app.view.items), 30, "the stack")
        d.settle()
        ev.cancel()
        steps = [b - a for a, b in zip(counts, counts[1:], strict=False)]
        assert max(steps) == 1, counts                            # one new row a frame at most
        assert [r["item_id"] for r in rv.data] == [i.item_id for i in reversed(app.view.items)]   # newest first
        assert sorted(r["item_id"] for r in rv.data) == sorted(i["barcode"] for i in items)


def test_a_new_item_comes_in_at_the_top_and_moves_no_row_already_shown(gui_kiosk):
    """The newest item is the top row (kiosk/screens/items.py, NEWEST_FIRST).  With it at the
    bottom, every new row shifted every row above it -- Kivy's vertical RecycleBoxLayout places
    rows from its top edge -- and their canvas rules and box layouts ran again in the frame the
    new row came: ~30 % of a stack's kv rule evaluations."""
    with gui_kiosk() as k:
        d, app, lib = k.driver, k.app, k.library
        from kiosk.ui.lists import ItemRow

        items = shelf(lib, 3)
        open_borrowing(k)
        screen = app.screen("items")
        rv = screen.ids.rv

        def shown() -> dict[str, tuple]:
            return {r.item_id: (r.x, r.y, r.height) for r in rv.children[0].children if isinstance(r, ItemRow)}

        before: dict[str, tuple] = {}
        for n, item in enumerate(items, 1):
            k.devices.tag_reader.place(item["barcode"])
            d.until(lambda n=n: len(app.view.items) == n and app.view.items[-1].settled, 20, "the item")
            d.settle()
            now = shown()
            assert {i: now[i] for i in before} == before, (before, now)       # nothing moved
            assert rv.data[0]["item_id"] == item["barcode"]                  # the newest on top
            top = max(shown().items(), key=lambda kv: kv[1][1])[0]
            assert top == item["barcode"], (top, shown())                     # drawn on top, too
            assert rv.scroll_y == 1
            before = shown()


def test_an_answer_that_brings_a_badge_does_not_narrow_the_title(gui_kiosk):
    """Every row's badge has one column (kiosk/screens/items.py ``_badge_column``).  A badge as
    wide as its word was 0 while the library system worked, so the title and the status were
    laid out again, narrower, in the frame the answer came."""
    with gui_kiosk(latency_ms=600) as k:
        d, app, lib = k.driver, k.app, k.library
        from kiosk.ui.lists import ItemRow

        (item,) = shelf(lib, 1)
        open_borrowing(k)
        rv = app.screen("items").ids.rv

        def row() -> ItemRow | None:
            return next((r for r in rv.children[0].children if isinstance(r, ItemRow)), None)

        k.devices.tag_reader.place(item["barcode"])
        d.until(lambda: row() is not None and row().state == "in_progress", 10, "the row, working")
        d.settle()
        working = row()
        assert working.badge == "" and working.badge_width > 0
        widths = (working.ids.body.width, working.badge_width)
        d.until(lambda: row().state == "done", 15, "the answer")
        d.settle()
        assert row().badge and (row().ids.body.width, row().badge_width) == widths


def test_a_refusal_s_wider_badge_lays_out_no_row_again(gui_kiosk):
    """The badge column is as wide as the widest word the mode can show ("Not possible" too), not
    as the words on the list so far: the first refusal of a stack widened it, and every row shown
    was laid out again, narrower, in that frame."""
    with gui_kiosk() as k:
        d, app, lib = k.driver, k.app, k.library
        from kiosk.ui.lists import ItemRow

        patron, item = borrow_one(k)
        rv = app.screen("items").ids.rv
        (shown,) = [r for r in rv.children[0].children if isinstance(r, ItemRow)]
        widths = (shown.ids.body.width, shown.badge_width)
        held = next(i for i in lib["items"] if i["status"] == "available" and i["parts"] == 1
                    and i["holds"] and all(h["card"] != patron["card"] for h in i["holds"]))
        k.devices.tag_reader.place(held["barcode"])
        d.until(lambda: [i.state for i in app.view.items] == ["done", "refused"], 20, "the refusal")
        d.settle()
        assert any(r.badge == "Not possible" for r in rv.children[0].children if isinstance(r, ItemRow))
        assert (shown.ids.body.width, shown.badge_width) == widths


def test_the_rows_are_built_once_for_what_they_show(gui_kiosk, monkeypatch):
    """A render, the rows' trigger and a width change may land in one long frame (three times in
    one frame of a Pi-class run, each building every row again): asked again with nothing new,
    the list does nothing; a new language, say, builds it once."""
    with gui_kiosk() as k:
        d, app = k.driver, k.app
        from kiosk.screens import items as items_screen

        borrow_one(k)
        built: list[int] = []
        real = items_screen.item_rows
        monkeypatch.setattr(items_screen, "item_rows", lambda *a, **kw: built.append(1) or real(*a, **kw))
        screen = app.screen("items")
        screen.refresh()
        screen.refresh()
        assert built == []                                  # nothing new: nothing built
        from kivy.clock import Clock

        screen._rows_waiting, screen._fed_frame = True, Clock.frames   # a stack's row came this frame
        screen.refresh()
        assert built == []                                  # the next one comes next frame ...
        d.settle()
        assert len(built) == 1 and not screen._rows_waiting  # ... built then, once
        built.clear()
        app.set_language("de")
        d.settle()
        assert len(built) == 1 and screen.ids.rv.data[0]["status"].startswith("Rückgabe")


def test_rows_that_change_in_the_frame_the_list_narrows_are_refreshed_once(gui_kiosk, monkeypatch):
    """Kivy refreshes a RecycleView (``refresh_views``: row sizes, layout, the rows in sight) before
    the frame whenever its data, size or scroll position changes.  Rows that changed in the frame
    a layout above the list changed its width -- large text widens the tally column -- refreshed
    it three times in that frame (a Pi-class run): the rows at the old width, the new width, and
    the rows built again for it.  The list waits for the layouts (kiosk/ui/lists.py
    SettledRecycleView) and refreshes once, with the rows for its new width."""
    with gui_kiosk() as k:
        d, app = k.driver, k.app
        import importlib

        from kivy.clock import Clock

        borrow_one(k)
        screen = app.screen("items")
        rv = screen.ids.rv
        refreshed: list[int] = []          # the frame of each refresh of the items list
        # Kivy's Factory loads RecycleView from "kivy.uix.recycleview.__init__", a second copy of
        # the module: whichever the list's class comes from, its refresh is counted.
        for module in ("kivy.uix.recycleview", "kivy.uix.recycleview.__init__"):
            behaviour = importlib.import_module(module).RecycleViewBehavior

            def counted(self, *largs, real=behaviour.refresh_views):  # noqa: ANN001,ANN002,ANN202
                if self.uid == rv.uid:
                    refreshed.append(Clock.frames)
                return real(self, *largs)
            counted.__name__ = "refresh_views"      # Kivy's clock calls a trigger's method by its name
            monkeypatch.setattr(behaviour, "refresh_views", counted)
        width = rv.width

        def in_one_frame(_dt: float) -> None:
            app.set_language("de")                                  # new rows: their words in German
            app.theme.apply(app.theme.name, large_text=True)        # the tally column widens

        Clock.schedule_once(in_one_frame, 0)
        d.settle()
        assert rv.width < width
        assert refreshed and max(refreshed.count(f) for f in refreshed) == 1, refreshed
        assert rv.data[0]["status"].startswith("Rückgabe")
        assert [r["height"] for r in rv.data] == [screen._row_height(r, rv.width) for r in rv.data]
