"""The common shape of a screen: ``render(view)`` and ``wipe()``, its kv file loaded by name."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.lang import Builder
from kivy.uix.screenmanager import Screen

_loaded: set[str] = set()


def load_kv(module_file: str) -> None:
    """Load ``foo.kv`` next to ``foo.py`` once (the showcase/Electrum habit, style.md §4)."""
    path = str(Path(module_file).with_suffix(".kv"))
    if path not in _loaded:
        Builder.load_file(path)
        _loaded.add(path)


class KioskScreen(Screen):
    """Base for every patron screen.

    ``render(view)`` is called on the main thread with every new session view (for every screen,
    not only the visible one, so that patron data leaves *all* screens the moment a session ends).
    ``wipe()`` clears anything the screen keeps itself (typed digits, an open dialog).
    ``patron_page``: wiped when a patron's session ends.  Staff pages are not -- a goodbye screen
    timing out behind a staff member's settings page must not close the keyboard they are typing
    on; staff mode wipes its own pages when it ends.
    """

    patron_page = True

    @property
    def app(self):  # noqa: ANN201 - the running KioskApp
        return App.get_running_app()

    def render(self, view) -> None:  # noqa: ANN001
        pass

    def wipe(self) -> None:
        pass


def speech_switch(app, size_key: str = "font_m", **kw):  # noqa: ANN001,ANN201 - KioskApp -> KButton | None
    """The patron's "speech on/off" switch ([speech] enabled), for every screen a patron starts on
    (home, and returns-only after hours): it follows ``app.speech_on`` and the language.  None when
    speech is not enabled on this kiosk."""
    if not app.settings.speech.enabled:
        return None
    from kiosk.ui.i18n import tr
    from kiosk.ui.widgets import KButton

    button = KButton(size_key=size_key, role="plain", icon="speaker_off", fit_words=True, **kw)
    button.bind(on_release=lambda *_a: app.toggle_speech())

    def show(*_a) -> None:
        on = app.speech_on
        button.selected = on
        button.icon = "speaker" if on else "speaker_off"
        button.text = tr("Speech on", app.lang) if on else tr("Speech off", app.lang)

    app.bind(speech_on=show, lang=show)
    show()
    return button
