"""The patron's own choices on a KioskApp: speech, language, high contrast and large text.

A mixin of :class:`kiosk.app.KioskApp`, apart from the wiring because it is one concern: what a
patron may switch for their session, and how each switch reaches the screens without stalling a
frame (kiosk/ui/pacing.py).  Every choice returns to the library's default for the next patron.
"""

from __future__ import annotations

import logging

from kivy.clock import Clock

from kiosk.circulation.view import IDLE, SessionView
from kiosk.ui import pacing
from kiosk.ui.i18n import tr

log = logging.getLogger("kiosk.app")


class PatronChoices:
    """Speech on/off, language, contrast and text size for the session on screen."""

    _door = None                        # KioskApp's LatestOnly of session views, once wired
    _rendered_frame = -1                # the frame of the last session view rendered (KioskApp.render)

    # speech (kiosk/speech/)
    def toggle_speech(self) -> None:
        """The home screen's "speech on" switch: for this session only."""
        if not self.settings.speech.enabled:
            return
        self.speech_on = not self.speech_on
        narrator = self._narrator()
        if narrator is not None:
            narrator.switched(self.speech_on, self.lang, self.root_widget.ids.sm.current, self.view)

    def _narrator(self):  # noqa: ANN202
        if self.narrator is None:
            from kiosk.speech.engine import Speaker
            from kiosk.speech.narrator import Narrator
            from kiosk.speech.texts import Guide

            sp, g = self.settings.speech, self.settings.guide
            self.narrator = Narrator(Speaker(volume=sp.volume, rate=sp.rate, engine=sp.engine),
                                     personal=sp.speak_personal_data, currency=self.settings.branding.currency,
                                     guide=Guide(g.card_reader, g.item_pad, g.return_slot))
        return self.narrator

    def _narrate(self, view: SessionView, target: str) -> None:
        returns_key = ""
        if target == "returns_only" and self.root_widget.ids.sm.has_screen("returns_only"):
            returns_key = self.screen("returns_only").message_key
        try:
            self._narrator().update(target, view, self.lang, warning_s=int(self.warning_s),
                                    returns_key=returns_key)
        except Exception:  # noqa: BLE001 - speech is an extra: it must never break the screen
            log.exception("speech failed")

    def _reset_patron_choices(self) -> None:
        """The next patron starts from the library's defaults, not the last patron's choices."""
        if self.speech_on != (self.settings.speech.enabled and self.settings.speech.on_by_default):
            self.speech_on = not self.speech_on
            if self.narrator is not None and not self.speech_on:
                self.narrator.speaker.stop()
        self.lang = self.settings.kiosk.language
        self.theme.apply(self.settings.branding.theme, large_text=False)
        for screen in self.root_widget.ids.sm.screens:
            if screen.patron_page:
                screen.wipe()

    def set_language(self, code: str) -> None:
        self.lang = code
        self._refresh_screens()

    def toggle_contrast(self) -> None:
        # The relayout is spread over frames (kiosk/ui/pacing.py), and the screens' computed texts
        # and colours are rendered again in its last stage, not in the frames the switch already fills.
        pacing.spread_after_switch()
        self.theme.apply("standard" if self.theme.name == "high_contrast" else "high_contrast", spread=True)
        self._refresh_soon()

    def toggle_large_text(self) -> None:
        pacing.spread_after_switch()
        self.theme.apply(self.theme.name, large_text=not self.theme.large_text, spread=True)
        self._refresh_soon()

    def _refresh_soon(self) -> None:
        # The screens' computed texts and row heights: the last stage of a switch (pacing.SCREENS_STAGE)
        pacing.after_switch(pacing.SCREENS_STAGE, self._refresh_screens)

    def _refresh_screens(self) -> None:
        """Re-render the current view (row texts and colours are computed, not bound) -- unless a
        render made after the switch's stages already did, in this frame, or one is on its way: a
        view that waited for the stages (kiosk/ui/door.py) came in this same frame, and the screens
        were rendered twice in it (a Pi-class profile's busiest frame, issue 19)."""
        fresh = self._rendered_frame == Clock.frames or (self._door is not None and self._door.waiting)
        if self.view is not None and not fresh:
            self.render_screens(self.view)
        if self.service is not None and self.view is not None and self.view.state != IDLE:
            self._intents.put(self.service.touch)

    def welcome_text(self, lang: str) -> str:
        b = self.settings.branding
        return b.welcome or tr("Welcome to {library}", lang, library=b.library_name)

