"""From one session view to the next: what is new and worth saying (shell: holds the last state).

A new screen (or a new step on it: the PIN prompt, a refusal message, the timeout warning)
interrupts whatever is being said with that screen's instruction; each item that settles is read
out once, queued behind the instruction, so a stack of five is heard item by item.
"""

from __future__ import annotations

import logging

from kiosk.speech.texts import Guide, item_text, screen_text, speech_switched

log = logging.getLogger(__name__)

SETTLED = ("done", "refused", "needs_staff")


class Narrator:
    def __init__(self, speaker, *, personal: bool = False, guide: Guide = Guide(), currency: str = ""):  # noqa: ANN001, B008
        self.speaker = speaker
        self.personal = personal
        self.guide = guide
        self.currency = currency
        self._context: tuple = ()
        self._said_items: set[tuple[str, str]] = set()

    def switched(self, on: bool, lang: str, screen: str, view) -> None:  # noqa: ANN001
        """The patron turned speech on or off: say so (and, when on, where they are)."""
        self._context = ()
        if on:
            self.speaker.say(speech_switched(True, lang), lang)
            self.update(screen, view, lang, interrupt=False)
        else:
            self.speaker.stop()

    def update(self, screen: str, view, lang: str, *, warning_s: int = -1, returns_key: str = "",  # noqa: ANN001
               interrupt: bool = True) -> None:
        """Say what changed since the last view (nothing, if nothing did)."""
        blocked = bool(view is not None and view.patron is not None and not view.patron.can_checkout)
        context = (screen, lang, getattr(view, "needs_pin", False), getattr(view, "message_key", None),
                   getattr(view, "mode", None), blocked, warning_s >= 0, returns_key,
                   view is not None and view.patron is not None and screen == "account")
        if context != self._context:
            self._context = context
            if screen in ("home", "out_of_service") or (view is not None and view.state in ("idle", "ended")):
                self._said_items = set()
            self.speaker.say(screen_text(screen, view, lang, personal=self.personal, guide=self.guide,
                                         currency=self.currency, warning_s=warning_s, returns_key=returns_key),
                             lang, interrupt=interrupt)
        if screen == "items" and view is not None:
            for line in view.items:
                key = (line.item_id, line.state)
                if line.state in SETTLED and key not in self._said_items:
                    self._said_items.add(key)
                    self.speaker.say(item_text(line, lang), lang, interrupt=False)
