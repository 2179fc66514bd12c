"""The window's own input on a KioskApp: keyboard-wedge scanners, keys a patron must not use,
touches that keep a session alive, and the panel's orientation.

A mixin of :class:`kiosk.app.KioskApp`.  Esc, F1 and Ctrl-combinations do nothing on a kiosk (a
patron must not be able to leave the app); Enter and Tab end a scan.
"""

from __future__ import annotations

import logging

from kiosk.appliance.privacy import mask
from kiosk.circulation.view import IDLE, OUT_OF_SERVICE

log = logging.getLogger("kiosk.app")


def text_field_has_keyboard() -> bool:
    """A focused text field (the demo panel's search and barcode fields) holds the keyboard.  The
    window-level handlers below are bound after Kivy's own keyboard, so they run first: without
    this check every typed character went to the keyboard-wedge scanner and no field ever got it."""
    from kivy.uix.behaviors.focus import FocusBehavior

    return any(w is not None and getattr(w, "focus", False) for w in FocusBehavior._keyboards.values())


class WindowInput:
    """Handlers bound to Kivy's Window in ``KioskApp.build``."""

    def _on_window_size(self, _win, size) -> None:  # noqa: ANN001
        self.portrait = size[1] > size[0]
        self.theme.set_portrait(self.portrait)          # portrait: a larger type scale (issue 14)

    def _on_request_close(self, *_a, **_kw) -> bool:
        return not getattr(self, "_closing", False)     # only stop() closes the kiosk

    def _on_any_touch(self, _win, _touch) -> None:  # noqa: ANN001
        if self.service is not None and self.view is not None and self.view.state not in (IDLE, OUT_OF_SERVICE):
            self._intents.put(self.service.touch)

    def _on_key_down(self, _win, key, _scancode, _codepoint, _modifiers) -> bool:  # noqa: ANN001
        """Enter/Tab end a keyboard-wedge scan; Esc, F1 and the like do nothing on a kiosk."""
        if key in (13, 271, 9) and not text_field_has_keyboard():
            self._feed_scanner("\r")
            return True
        return key in (27, 282, 1073741882) or bool(_modifiers and "ctrl" in _modifiers)

    def _on_textinput(self, _win, text: str) -> bool:
        if text_field_has_keyboard():
            return False        # typed into a focused field (the demo panel's search and scanner)
        self._feed_scanner(text)
        return True

    def _feed_scanner(self, text: str) -> None:
        if self._scan_filter is None:
            return
        for code, accepted in self._scan_filter.feed(text):
            if accepted and self.service is not None:
                self._intents.put(self._code_scanned, code)   # reads the service's view: off the main thread
            else:
                log.info("ignored scanner input %s (does not match the barcode pattern)", mask(code))

    def open_settings(self, *largs) -> bool:  # noqa: ANN002 - F1 settings stay closed on a kiosk
        return False

