"""The simulation panel's card labels fit their buttons (checked in the real window)."""

from __future__ import annotations

from kiosk.ui.simpanel import patron_label

BRUNO = {"name": "Bruno Díaz García", "card": "2000000002", "pin": None, "status": "ok",
         "scenario": "valid, no PIN; one loan that someone at East Branch is waiting for"}


def test_the_no_pin_note_is_on_the_second_line_and_long_scenarios_are_cut_visibly():
    first, second = patron_label(BRUNO, asks_pin=True).split("\n")
    # the first line ran past both edges of the button with the note on it
    assert "cannot sign in" not in first and "no PIN" in first
    assert "cannot sign in here" in second
    assert second.endswith("\u2026[/size]")
    assert len(second.removeprefix("[size=11]").removesuffix("[/size]")) <= 46


def test_short_scenarios_are_shown_whole():
    label = patron_label({"name": "Dagmar Weiß", "card": "2000000004", "pin": "1111", "status": "expired",
                          "scenario": "expired card"})
    assert label.endswith("expired: expired card[/size]") and "PIN 1111" in label
