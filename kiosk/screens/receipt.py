"""Receipt: print, email or none -- only the choices this library offers ([receipt] choices).

E-mail is offered only when an SMTP server is configured and the patron's account has an address
(:mod:`kiosk.ui.receipt_mail`).  It is sent on a worker thread; the session ends once the message is
accepted by the mail server.  If sending fails, the screen says so and offers a printed receipt
(or none) instead: a broken mail server never keeps a patron at the kiosk.
"""

from __future__ import annotations

import logging
import threading

from kivy.properties import BooleanProperty, DictProperty, ListProperty, StringProperty

from kiosk.screens.base import KioskScreen, load_kv
from kiosk.ui.door import on_ui
from kiosk.ui.present import counts

log = logging.getLogger(__name__)


class ReceiptScreen(KioskScreen):
    choices = ListProperty(["print", "email", "none"])
    mode = StringProperty("borrow")
    printer_ok = BooleanProperty(True)     # set by the app from the printer's own status
    email_ok = BooleanProperty(False)      # e-mail is configured and the account has an address
    email_state = StringProperty("")       # "", "sending", "sent", "failed"
    tally = DictProperty({"done": 0, "refused": 0, "needs_staff": 0, "working": 0})
    # "No receipt" shows when the library offers it -- and whenever nothing else can be had here
    # (e-mail only, for an account without an address; print only, with the printer out of paper):
    # a patron always has a way to finish, rather than a screen with no button until the timeout.
    skip_offered = BooleanProperty(True)
    _session_id = -1

    def on_kv_post(self, _base) -> None:  # noqa: ANN001
        self.choices = list(self.app.settings.receipt.choices)
        self.fbind("choices", self._offer_skip)
        self.fbind("printer_ok", self._offer_skip)
        self.fbind("email_ok", self._offer_skip)
        self.fbind("email_state", self._offer_skip)
        self._offer_skip()

    def _offer_skip(self, *_a) -> None:
        printable = ("print" in self.choices or self.email_state == "failed") and self.printer_ok
        mailable = self.email_ok and self.email_state != "failed"
        self.skip_offered = "none" in self.choices or not (printable or mailable)

    def render(self, view) -> None:  # noqa: ANN001
        from kiosk.ui.receipt_mail import email_offered

        if view.session_id != self._session_id:
            self._session_id = view.session_id
            self.email_state = ""
        self.mode = view.mode or "borrow"
        self.tally = counts(view.items)
        self.email_ok = email_offered(self.app.settings, view.patron)

    def wipe(self) -> None:
        self.email_state = ""
        self.email_ok = False

    def send_email(self, view) -> bool:  # noqa: ANN001 - SessionView
        """Send the receipt of ``view`` on a worker thread; True when sending started (the session
        is finished once it is sent), False when e-mail is not possible for this patron."""
        from kiosk.ui.receipt_mail import email_offered, send_receipt

        app = self.app
        if not email_offered(app.settings, view.patron) or self.email_state == "sending":
            return False
        self.email_state = "sending"
        session_id, lang, settings, service = view.session_id, app.lang, app.settings, app.service

        def work() -> None:
            try:
                send_receipt(settings, view, lang)
                ok = True
            except Exception as exc:  # noqa: BLE001 - any failure: say so, offer print
                log.warning("receipt e-mail could not be sent: %s", exc)
                ok = False
            if ok and service is not None:
                now = service.view()
                if now.session_id == session_id and now.state == "receipt":
                    service.finish("email")       # intents return at once; safe from any thread
            on_ui(self._email_done, session_id, ok)

        threading.Thread(target=work, name="receipt-email", daemon=True).start()
        return True

    def _email_done(self, session_id: int, ok: bool) -> None:
        if session_id == self._session_id:
            self.email_state = "sent" if ok else "failed"


load_kv(__file__)
