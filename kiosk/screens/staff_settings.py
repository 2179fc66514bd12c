"""Staff settings: library-system connection (with a connection test), mode, offline policy,
default language, receipt options and theme -- validated and written by the staff console."""

from __future__ import annotations

from kivy.properties import BooleanProperty, DictProperty, StringProperty

from kiosk.screens.base import load_kv
from kiosk.screens.staff_base import StaffPage
from kiosk.ui.i18n import LANGUAGE_NAMES, N_, tr

OPTION_LABELS = {
    "kiosk.mode": (("staffed", N_("Staffed")), ("returns", N_("Returns only")), ("auto", N_("Automatic"))),
    "kiosk.offline_policy": (("none", N_("Desk only")), ("returns", N_("Returns")),
                             ("returns+checkouts", N_("Returns and loans"))),
    "receipt.choices": (("print", N_("Print")), ("email", N_("E-mail")), ("none", N_("No receipt"))),
    "branding.theme": (("standard", N_("Standard")), ("high_contrast", N_("High contrast"))),
    "ils.tls": ((True, N_("TLS on")), (False, N_("TLS off"))),
    "ils.protocol": (("sip2", "SIP2"), ("folio", "FOLIO")),
}
TEXT_KEYS = ("ils.host", "ils.port", "ils.url", "ils.tenant", "ils.service_point")
# what the keyboard's line says while a text key is edited
EDIT_LABELS = {"ils.host": N_("Host name"), "ils.port": N_("Port"), "ils.url": N_("Gateway URL"),
               "ils.tenant": N_("Tenant"), "ils.service_point": N_("Service point")}
# the keys the connection test tries (SIP2 and FOLIO)
CONNECTION_KEYS = ("ils.protocol", "ils.host", "ils.port", "ils.tls", "ils.url", "ils.tenant", "ils.service_point")


class StaffSettingsScreen(StaffPage):
    form = DictProperty({})
    section = StringProperty("ils")       # "ils", "kiosk" or "look"
    editing = StringProperty("")          # "ils.host" / "ils.port" while the keyboard shows
    edit_text = StringProperty("")
    message = StringProperty("")
    message_ok = BooleanProperty(True)
    restart_needed = BooleanProperty(False)
    connection = StringProperty("")
    connection_ok = BooleanProperty(False)
    host = StringProperty("")
    port = StringProperty("")
    folio = BooleanProperty(False)        # [ils] protocol = "folio": gateway URL, tenant, service point
    url = StringProperty("")
    tenant = StringProperty("")
    service_point = StringProperty("")
    editing_label = StringProperty("")

    def refresh(self) -> None:
        values = self.console.current_values()
        values["ils.port"] = str(values["ils.port"])
        self.form = values
        self._show_text_keys()
        self.editing = ""
        self.section = "ils"
        self.message = ""
        self.connection = ""
        self.restart_needed = False
        lang = self.app.lang
        rows = {"kiosk.mode": self.ids.mode, "kiosk.offline_policy": self.ids.offline,
                "receipt.choices": self.ids.receipt, "branding.theme": self.ids.theme, "ils.tls": self.ids.tls,
                "ils.protocol": self.ids.protocol}
        for key, row in rows.items():
            row.set_options([(v, tr(label, lang)) for v, label in OPTION_LABELS[key]], values[key],
                            lambda chosen, k=key: self._chosen(k, chosen))
        self.ids.language.set_options([(c, LANGUAGE_NAMES.get(c, c)) for c in self.app.settings.kiosk.languages],
                                      values["kiosk.language"],
                                      lambda chosen: self._chosen("kiosk.language", chosen))

    def _chosen(self, key: str, chosen: list) -> None:
        self.form[key] = chosen if key == "receipt.choices" else chosen[0]
        self.message = ""
        if key == "ils.protocol":
            self.folio = self.form[key] == "folio"
            self.connection = ""

    def _show_text_keys(self) -> None:
        f = self.form
        self.host, self.port = f["ils.host"], f["ils.port"]
        self.url, self.tenant, self.service_point = f["ils.url"], f["ils.tenant"], f["ils.service_point"]
        self.folio = f["ils.protocol"] == "folio"

    # -- the on-screen keyboard for host and port
    def edit(self, key: str) -> None:
        self.editing = key
        self.editing_label = tr(EDIT_LABELS.get(key, key), self.app.lang)
        self.edit_text = str(self.form[key])

    def on_key(self, key: str) -> None:
        if key == "back":
            self.edit_text = self.edit_text[:-1]
        elif key == "done":
            self.form[self.editing] = self.edit_text.strip()
            self._show_text_keys()
            self.editing = ""
            self.message = ""
        elif len(self.edit_text) < (120 if self.editing == "ils.url" else 64) and (self.editing != "ils.port" or key.isdigit()):
            self.edit_text += key

    # -- actions
    def changes(self) -> dict:
        out = dict(self.form)
        port = out["ils.port"]
        out["ils.port"] = int(port) if port.isdigit() else port   # not a number: validation says so
        return out

    def test_connection(self) -> None:
        self.connection = tr("Connecting...", self.app.lang)
        self.connection_ok = False
        c = self.changes()
        self.console.test_connection({k: c[k] for k in CONNECTION_KEYS}, self._tested)

    def _tested(self, result) -> None:  # noqa: ANN001
        self.connection_ok = result.ok
        words = result.words(self.app.lang)
        self.connection = (tr("Connected: {detail}", self.app.lang, detail=words) if result.ok
                           else tr("No connection: {detail}", self.app.lang, detail=words))

    def save(self) -> None:
        self.busy = True
        self.message = tr("Saving...", self.app.lang)
        self.console.save_settings(self.changes(), self._saved)

    def _saved(self, result) -> None:  # noqa: ANN001
        self.busy = False
        self.message_ok = result.ok
        lang = self.app.lang
        if not result.ok:
            self.message = tr("Not saved: {error}", lang, error=result.error)
            return
        if not result.changed:
            self.message = tr("Nothing to save.", lang)
            return
        self.restart_needed = result.restart_needed
        self.message = tr("Saved.", lang) + " " + (
            tr("The library-system and offline settings take effect after a restart.", lang)
            if result.restart_needed else tr("The changes are in effect.", lang))
        if "branding.theme" in result.changed:
            self.app.theme.apply(self.app.settings.branding.theme)
        if "kiosk.mode" in result.changed:
            self.staff.check_mode()

    def wipe(self) -> None:
        self.editing = ""
        self.message = ""
        self.connection = ""


load_kv(__file__)
