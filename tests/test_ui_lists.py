"""The scrolling lists of the patron screens, measured in the real widget tree (QA findings).

* The "More above" / "More below" cues never cover a row: they sit beside the list's viewport,
  not over it.
* A list shorter than its box starts at the top, even when a longer list before it (the last
  patron's) was scrolled to its end.
* The account's rows all have one height, and that height holds the wrapped title and due line,
  in every language and with large text.
* The tally card of the items screen and the account's side cards keep their text inside them
  (German with large text overflowed both).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def _rect(w) -> tuple[float, float, float, float]:  # noqa: ANN001
    x, y = w.to_window(w.x, w.y)
    return x, y, x + w.width, y + w.height


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def _rows(rv) -> list:  # noqa: ANN001 - RecycleView
    layout = rv.children[0]
    return sorted(layout.children, key=lambda r: -r.y)


def _cue(screen, text: str):  # noqa: ANN001,ANN202
    """The "More above" / "More below" button of ``screen`` (in the patron's language)."""
    from kiosk.ui.i18n import tr
    from kiosk.ui.widgets import Pressable

    return next(w for w in screen.walk(restrict=True) if isinstance(w, Pressable) and w.text == tr(text, w_lang()))


def w_lang() -> str:
    from kivy.app import App

    return App.get_running_app().lang


def _check_list(where: str, screen, problems: list[str]) -> None:  # noqa: ANN001
    rv = screen.ids.rv
    view, box = _rect(rv), _rect(rv.parent)
    if view[0] < box[0] - 0.5 or view[1] < box[1] - 0.5 or view[2] > box[2] + 0.5 or view[3] > box[3] + 0.5:
        problems.append(f"{where}: the list {view} reaches out of its place {box} (over the heading)")
    for name in ("More above", "More below"):
        cue = _cue(screen, name)
        if cue.opacity > 0 and _overlap(_rect(cue), view):
            problems.append(f"{where}: {name} {_rect(cue)} lies over the list {view}")
        if cue.opacity > 0:
            _fits(f"{where} cue", cue, problems)          # "More / above" wrapped in large text
    rows = _rows(rv)
    heights = {round(r.height) for r in rows}
    if len(heights) != 1:
        problems.append(f"{where}: row heights differ: {sorted(heights)}")
    for r in rows:
        need = r.ids.info.height + 12           # the content and the row's own padding (lists.kv)
        if need > r.height + 1:
            problems.append(f"{where}: {r.title[:30]!r} needs {need:.0f}px, its row is {r.height:.0f}px")


def _fits(where: str, box, problems: list[str]) -> None:  # noqa: ANN001
    """Every text under ``box`` is drawn inside ``box``, in its label, and no word is broken."""
    from kivy.uix.label import Label

    from kiosk.ui.textfit import fit_font_size

    inside = _rect(box)
    for w in box.walk(restrict=True):
        if not isinstance(w, Label) or not w.text or w.opacity == 0:
            continue
        what = f"{where} {w.text[:30]!r}"
        r = _rect(w)
        if r[0] < inside[0] - 1 or r[1] < inside[1] - 1 or r[2] > inside[2] + 1 or r[3] > inside[3] + 1:
            problems.append(f"{what}: label {r} outside {inside}")
        if w.texture_size[0] > w.width + 1 or w.texture_size[1] > w.height + 1:
            problems.append(f"{what}: text {tuple(w.texture_size)} in a {tuple(w.size)} label")
        if fit_font_size(w.text, w.width, w.font_size, 0, w.bold) < w.font_size:
            problems.append(f"{what}: a word is wider than its {w.width:.0f}px label (broken inside)")


def test_account_rows_are_even_the_cues_never_cover_them_and_the_tally_fits(gui_kiosk):
    from kiosk.ui.widgets import Card

    problems: list[str] = []
    with gui_kiosk({"kiosk.require_pin": False}) as k:
        d, app, lib = k.driver, k.app, k.library
        ids = app.root_widget.ids
        many = max((p for p in lib["patrons"] if p["status"] == "ok"), key=lambda p: len(p["loans"]))
        few = next(p for p in lib["patrons"] if p["status"] == "ok" and 1 <= len(p["loans"]) <= 3)
        screen = app.screen("account")
        rv = screen.ids.rv

        def open_account(patron: dict) -> None:
            d.tap(d.button(app_tr("My account")))
            d.until_screen("identify")
            k.devices.card_reader.tap(patron["card"])
            d.until_screen("account", 15)
            d.until(lambda: not app.view.busy and not app.view.patron.details_pending
                    and len(rv.data) == len(patron["loans"]), 15, "the account loaded")
            d.settle()

        from kiosk.ui.i18n import tr

        def app_tr(text: str) -> str:
            return tr(text, app.lang)

        _tally_checks(k, problems)                       # the items screen's tally card, landscape
        open_account(many)
        # German with large text has the longest words and the tallest rows (fr and es: the tour)
        for lang, large in (("en", False), ("en", True), ("de", True)):
            if app.theme.large_text != large:
                ids.large_text._last_release = 0.0       # taps seconds apart: no debounce in the way
                d.tap(ids.large_text)
            app.set_language(lang)
            rv.scroll_y = 1
            d.until(lambda: len(_rows(rv)) > 0 and all(r.ids.info.height > 0 for r in _rows(rv)), 5, "rows")
            d.settle()
            assert screen.more_below and not screen.more_above, (lang, large)   # the list overflows
            _check_list(f"account {lang} large={large} top", screen, problems)
            side = screen.ids.side
            _fits(f"account {lang} large={large} side column", side, problems)
            for card in (w for w in side.children if isinstance(w, Card)):
                _fits(f"account {lang} large={large} card", card, problems)
            while screen.more_below:                     # the patron pages down to the end
                below = _cue(screen, "More below")
                below._last_release = 0.0
                below.dispatch("on_release")
                d.settle()
            assert screen.more_above and rv.scroll_y == 0
            _check_list(f"account {lang} large={large} end", screen, problems)
        app.set_language("en")
        ids.large_text._last_release = 0.0
        d.tap(ids.large_text)
        d.tap(d.button("Done"))
        d.until_screen("home", 15)
        # The next patron's short list starts at the top, although the last one was left at its end.
        open_account(few)
        assert not screen.more_below and not screen.more_above
        first = _rows(rv)[0]
        assert abs(_rect(first)[3] - _rect(rv)[3]) <= 1, (_rect(first), _rect(rv))
    assert not problems, "\n".join(problems)


def _tally_checks(k, problems: list[str]) -> None:  # noqa: ANN001
    """Items screen: "Borrowed: 1 / Not possible: 1 / Add more items, or finish." stay inside the
    tally card (German with large text overflowed it), in every language, standard and large;
    the session is finished and the kiosk back home afterwards."""
    from kiosk.ui.widgets import Card, KLabel

    d, app, lib = k.driver, k.app, k.library
    ids = app.root_widget.ids
    patron = next(p for p in lib["patrons"] if p["status"] == "ok" and not p["holds"] and not p["loans"])
    ok = next(i for i in lib["items"] if i["status"] == "available" and not i["holds"] and i["parts"] == 1)
    held = next(i for i in lib["items"] if i["status"] == "available" and i["parts"] == 1
                and any(h["card"] != patron["card"] for h in i["holds"]))
    d.tap(d.button("Borrow"))
    d.until_screen("identify")
    k.devices.card_reader.tap(patron["card"])
    d.until_screen("items", 15)
    for item in (ok, held):
        k.devices.tag_reader.place(item["barcode"])
    d.until(lambda: sorted(i.state for i in app.view.items) == ["done", "refused"], 20, "both items")
    screen = app.screen("items")
    card = next(w for w in screen.walk(restrict=True) if isinstance(w, Card) and w.opacity > 0)
    size = "portrait" if app.portrait else "landscape"
    for large in (False, True):
        if app.theme.large_text != large:
            ids.large_text._last_release = 0.0
            d.tap(ids.large_text)
        for lang in ("en", "de", "fr", "es"):
            app.set_language(lang)
            d.settle()
            labels = [w for w in card.children if isinstance(w, KLabel) and w.text]
            assert len(labels) == 3, [w.text for w in labels]
            _fits(f"tally {size} {lang} large={large}", card, problems)
    app.intent("finish", "none")
    d.until_screen("home", 15)
    k.devices.tag_reader.clear()


def test_the_tally_card_and_the_renew_buttons_fit_in_portrait_too(gui_kiosk):
    """The portrait items screen sized the tally row by a formula that undercounted de/fr/es with
    large text (landscape: in the account test above), and the account's Renew buttons broke
    "Verlängern" inside the word (portrait type is 1.2x larger)."""
    from kiosk.ui.i18n import tr
    from kiosk.ui.widgets import Pressable

    problems: list[str] = []
    with gui_kiosk({"kiosk.require_pin": False}, size=(720, 1280)) as k:
        d, app, lib = k.driver, k.app, k.library
        _tally_checks(k, problems)
        ids = app.root_widget.ids
        ids.large_text._last_release = 0.0
        d.tap(ids.large_text)
        d.tap(d.button("Deutsch"))
        many = max((p for p in lib["patrons"] if p["status"] == "ok"), key=lambda p: len(p["loans"]))
        d.tap(d.button(tr("My account", "de")))
        d.until_screen("identify")
        k.devices.card_reader.tap(many["card"])
        d.until_screen("account", 15)
        screen = app.screen("account")
        d.until(lambda: len(screen.ids.rv.data) == len(many["loans"]), 15, "the loans")
        d.settle()
        renew = [w for w in screen.walk(restrict=True) if isinstance(w, Pressable) and w.opacity > 0
                 and w.text == tr("Renew", "de")]
        assert renew and app.theme.large_text
        for button in renew:
            _fits("account portrait de large", button, problems)
    assert not problems, "\n".join(problems)


def _one_line(where: str, cue, problems: list[str]) -> None:  # noqa: ANN001 - a MoreCue
    """The cue's words on one line of its pill ("More / above" on two lines was the QA finding)."""
    from kivy.core.text import Label as CoreLabel

    lbl = cue.ids.lbl
    line = CoreLabel(font_size=lbl.font_size, bold=True).get_extents(lbl.text)[1]
    if lbl.texture_size[1] > line * 1.5:
        problems.append(f"{where}: {lbl.text!r} takes {lbl.texture_size[1]:.0f}px, one line is {line:.0f}px")
    _fits(where, cue, problems)


def test_the_more_cues_stay_on_one_line_when_large_text_is_switched_on_mid_session(gui_kiosk):
    """QA (the tour's "switched-contrast-large" shot): switched to large text while a long list
    showed, "More above" wrapped onto two lines in its pill -- its width came from a letter count
    that did not follow the switch.  Measured, it stays one line, in the longest translations too."""
    problems: list[str] = []
    with gui_kiosk({"kiosk.require_pin": False}) as k:
        d, app, lib = k.driver, k.app, k.library
        ids = app.root_widget.ids
        d.tap(d.button("Return"))
        d.until_screen("items")
        items = [i for i in lib["items"] if i["parts"] == 1][:12]
        for item in items:
            k.devices.tag_reader.place(item["barcode"])
        screen = app.screen("items")
        d.until(lambda: len(app.view.items) == len(items) and not app.view.busy, 20, "the returns")
        d.settle()
        d.until(lambda: screen.more_below, 5, "the list overflows")   # the newest row on top, in sight
        for switch in ("contrast", "large_text"):      # as the tour does: a patron's taps mid-session
            d.tap(ids[switch])
            d.pump(0.2)
            d.settle()
        for lang in ("en", "de", "fr", "es"):
            if lang != "en":
                app.set_language(lang)
                d.settle()
            screen.ids.rv.scroll_y = 1
            d.settle()
            assert screen.more_below and app.theme.large_text
            _one_line(f"items large {lang}", _cue(screen, "More below"), problems)
            screen.ids.rv.scroll_y = 0                   # the oldest rows, at the bottom
            d.settle()
            assert screen.more_above
            _one_line(f"items large {lang}", _cue(screen, "More above"), problems)
    assert not problems, "\n".join(problems)


def test_the_account_is_in_due_date_order_once_the_dates_arrive_and_then_stays_put(gui_kiosk):
    """Found in the tour: the account read "Dec 14, Dec 28, Dec 8".  Its order was frozen at the
    first render, when the library system had listed barcodes only and the due dates were still
    being looked up.  The soonest due comes first once the dates are known; after that a renewal
    (a new due date) does not move its row under the patron's finger."""
    from datetime import datetime

    from kiosk.circulation.view import ItemLine, LoanLine, PatronSummary, SessionView

    with gui_kiosk({"kiosk.require_pin": False}) as k:
        screen = k.app.screen("account")
        d = k.driver

        def shown(loans: tuple, pending: int, items: tuple = ()) -> list[str]:
            patron = PatronSummary(name="A B", loans=loans, loan_count=len(loans), details_pending=pending)
            screen.render(SessionView(state="identified", mode="account", patron=patron, items=items))
            d.settle()
            return [r["item_id"] for r in screen.ids.rv.data]

        dec = {n: datetime(2026, 12, n, 23, 59) for n in (8, 14, 28)}
        assert shown((LoanLine("A"), LoanLine("B"), LoanLine("C")), 3) == ["A", "B", "C"]   # barcodes only
        assert shown((LoanLine("C", "Dune", dec[8]), LoanLine("A", "Emma"), LoanLine("B")), 2) == ["C", "A", "B"]
        dated = (LoanLine("C", "Dune", dec[8]), LoanLine("A", "Emma", dec[14]), LoanLine("B", "Solaris", dec[28]))
        assert shown(dated, 0) == ["C", "A", "B"]
        renewed = (ItemLine("C", "Dune", state="done", action="renew", due_date=datetime(2027, 1, 5)),)
        resorted = (dated[1], dated[2], LoanLine("C", "Dune", datetime(2027, 1, 5)))     # the engine's order
        assert shown(resorted, 1, renewed) == ["C", "A", "B"]
        screen.wipe()
