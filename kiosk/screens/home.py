"""Home: Borrow / Return / My account, and the language choice."""

from __future__ import annotations

from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty

from kiosk.screens.base import KioskScreen, load_kv, speech_switch
from kiosk.ui.i18n import LANGUAGE_NAMES


class HomeScreen(KioskScreen):
    languages = ListProperty([])         # [(code, own name)] offered on this kiosk
    returns_only = BooleanProperty(False)

    def on_kv_post(self, _base) -> None:  # noqa: ANN001
        settings = self.app.settings
        self.languages = [(code, LANGUAGE_NAMES.get(code, code)) for code in settings.kiosk.languages]
        self.returns_only = settings.kiosk.mode == "returns"
        self.ids.langs.clear_widgets()
        from kiosk.ui.widgets import KButton

        for code, name in self.languages:
            btn = KButton(text=name, size_key="font_m", role="plain", size_hint_y=None, fit_words=True)
            btn.bind(on_release=lambda _b, c=code: self.app.set_language(c))
            self.app.bind(lang=lambda _a, lang, b=btn, c=code: setattr(b, "selected", lang == c))
            btn.selected = self.app.lang == code
            self.ids.langs.add_widget(btn)
        speech = speech_switch(self.app, size_hint_y=None)     # [speech] enabled: the patron's switch
        if speech is not None:
            self.ids.speech_slot.add_widget(speech)
            self.ids.speech_slot.width = speech.width = dp(200)


load_kv(__file__)
