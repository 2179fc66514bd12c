"""SipIls: the kiosk's :class:`~kiosk.ils.base.Ils` spoken over SIP2, on a pool of connections.

Maps SIP2 records to the domain records the circulation engine uses (librarian's words, no SIP2
codes leak out except the two-digit circulation status and alert type, which staff know).

Never a double transaction (issue 3), never a guess (issue 13): checkout and renewal are sent
once.  When no valid reply comes back, the outcome is resolved once, by the rule every layer shares
(:func:`kiosk.ils.base.resolve_checkout`): Item Information (17), and the patron's loans (63) only
when 18 says "charged" without naming the borrower.
* checkout: charged to nobody (18 status 03, 08, 10...) -> it did not happen, it is sent once more;
  charged to this patron (named in 18, or listed among the patron's loans) -> done; charged to a
  patron 18 names -> refused; anything else (charged but not listed -- AU may carry titles, lists may
  be paged --, lost, "other") -> :class:`~kiosk.ils.base.Unresolved` (staff), never "refused".
* renewal: the due date is read (17) before renewing; after a lost reply a changed due date means
  renewed; an unchanged one proves nothing (a same-day renewal keeps it): staff, never resent.
Known limit: if the library system finishes a checkout *after* our timeout and after the 17, the
resend will meet "already checked out to you" (Koha renews it).  Keep ``timeout_s`` well above
the server's worst latency.
"""

from __future__ import annotations

import logging
from datetime import datetime

from kiosk.appliance.privacy import mask
from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.ils.base import (
    MINE,
    NOT_OUT,
    OTHER,
    UNPROVEN,
    UNREACHABLE,
    CheckinResult,
    CheckoutResult,
    Hold,
    Ils,
    IlsStatus,
    ItemInfo,
    Loan,
    Patron,
    RenewAllResult,
    Unresolved,
    resolve_checkout,
)
from kiosk.sip2.client import Sip2Client
from kiosk.sip2.codec import (
    AcsStatusResponse,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    EndPatronSessionRequest,
    ItemInformationRequest,
    ItemInformationResponse,
    Message,
    PatronInformationRequest,
    PatronInformationResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    ScStatusRequest,
    parse_due_date,
)
from kiosk.sip2.messages.codes import PATRON_STATUS_FLAGS, SUMMARY_POSITIONS
from kiosk.sip2.pool import Sip2Pool

log = logging.getLogger(__name__)

CHARGED = ("04", "05")   # circulation status: charged (sip2.md 1.5 code tables)


def patron_blocks(status: str) -> tuple[str, ...]:
    """Readable names of the patron-status flags that are set ('Y' at a position)."""
    return tuple(name for name, flag in zip(PATRON_STATUS_FLAGS, status.ljust(14), strict=False)
                 if flag.upper() == "Y")


def _summary(kind: str) -> str:
    pos = SUMMARY_POSITIONS[kind]
    return " " * pos + "Y" + " " * (9 - pos)


def _int(text: str | None) -> int:
    try:
        return int((text or "").strip() or 0)
    except ValueError:
        return 0


def _expect(reply: Message, cls: type) -> None:
    if not isinstance(reply, cls):
        raise ProtocolError(f"expected {cls.__name__}, got {type(reply).__name__}")


class SipIls(Ils):
    """Thread-safe: each call borrows one pooled connection for one exchange."""

    def __init__(self, pool: Sip2Pool, *, institution: str = "", location: str = "",
                 terminal_password: str = "") -> None:
        self.pool = pool
        self.pool_size = pool.size
        self.institution = institution
        self.location = location
        self.terminal_password = terminal_password

    @classmethod
    def from_settings(cls, settings) -> SipIls:  # noqa: ANN001 - kiosk.config.Settings
        ils = settings.ils
        password = settings.ils_password()

        def factory() -> Sip2Client:
            return Sip2Client(ils.host, ils.port, user=ils.user, password=password,
                              institution=ils.institution, location=ils.location, charset=ils.charset,
                              timeout_s=ils.timeout_s, retries=ils.retries,
                              error_detection=ils.error_detection, tls=ils.tls,
                              tls_ca_file=ils.tls_ca_file, tls_cert_file=ils.tls_cert_file,
                              tls_key_file=ils.tls_key_file, tls_verify_hostname=ils.tls_verify_hostname)

        pool = Sip2Pool(factory, size=ils.pool_size, keepalive_s=ils.keepalive_s)
        return cls(pool, institution=ils.institution, location=ils.location)

    @staticmethod
    def _now() -> datetime:
        return datetime.now().replace(microsecond=0)

    # ------------------------------------------------------------------ status and patrons
    def status(self) -> IlsStatus:
        r = self.pool.request(ScStatusRequest())
        _expect(r, AcsStatusResponse)
        assert isinstance(r, AcsStatusResponse)
        return IlsStatus(online=bool(r.online_status), checkin_ok=bool(r.checkin_ok),
                         checkout_ok=bool(r.checkout_ok), renewal_ok=bool(r.acs_renewal_policy),
                         offline_ok=bool(r.offline_ok), timeout_s=r.timeout_s, retries=r.retries,
                         library_name=r.library_name or "", supported=r.supported_messages,
                         screen_message=r.screen_message)

    def _patron_info(self, patron_id: str, pin: str | None, kind: str) -> PatronInformationResponse:
        r = self.pool.request(PatronInformationRequest(
            transaction_date=self._now(), summary=_summary(kind), institution_id=self.institution,
            patron_id=patron_id, terminal_password=self.terminal_password, patron_password=pin))
        _expect(r, PatronInformationResponse)
        assert isinstance(r, PatronInformationResponse)
        return r

    def patron_information(self, patron_id: str, pin: str | None = None) -> Patron:
        """Patron Information (63) asking for charged items, then holds/overdues when there are any
        (Koha honours only the first 'Y' of the summary, sip2.md 1.5)."""
        r = self._patron_info(patron_id, pin, "charged")
        charged = list(r.charged_items)
        holds: tuple[str, ...] = r.hold_items
        overdue: tuple[str, ...] = r.overdue_items
        valid = r.valid_patron if r.valid_patron is not None else bool(r.personal_name)
        if valid and (r.hold_items_count or 0) > 0 and not holds:
            holds = self._patron_info(patron_id, pin, "hold").hold_items
        if valid and (r.overdue_items_count or 0) > 0 and not overdue:
            overdue = self._patron_info(patron_id, pin, "overdue").overdue_items
        blocks = patron_blocks(r.patron_status)
        pin_ok = r.valid_patron_password if pin is not None else None
        loans = tuple(Loan(item_id=i, overdue=i in overdue) for i in charged)
        log.debug("patron %s: valid=%s, %d loans, %d blocks", mask(patron_id), valid, len(loans), len(blocks))
        return Patron(
            patron_id=r.patron_id or patron_id, name=r.personal_name, valid=bool(valid), pin_ok=pin_ok,
            blocks=blocks,
            can_checkout=bool(valid) and pin_ok is not False and "charge privileges denied" not in blocks,
            can_renew=bool(valid) and pin_ok is not False and "renewal privileges denied" not in blocks,
            fine_amount=r.fee_amount or "", currency=r.currency_type or "", loans=loans,
            overdue_items=tuple(overdue), holds=tuple(Hold(item_id=h, available=True) for h in holds),
            screen_message=r.screen_message, print_line=r.print_line, raw=r.to_dict(),
            email=(r.email_address or "").strip())

    def end_patron_session(self, patron_id: str) -> None:
        self.pool.request(EndPatronSessionRequest(transaction_date=self._now(), institution_id=self.institution,
                                                  patron_id=patron_id, terminal_password=self.terminal_password))

    # ------------------------------------------------------------------ items
    def item_information(self, item_id: str) -> ItemInfo:
        r = self.pool.request(ItemInformationRequest(transaction_date=self._now(), institution_id=self.institution,
                                                     item_id=item_id, terminal_password=self.terminal_password))
        _expect(r, ItemInformationResponse)
        assert isinstance(r, ItemInformationResponse)
        status = r.circulation_status.strip()
        return ItemInfo(item_id=r.item_id or item_id, title=r.title, circulation_status=status,
                        due=r.due_date or "", due_date=parse_due_date(r.due_date),
                        patron_id=r.patron_id or "", hold_queue_length=_int(r.hold_queue_length),
                        media_type=r.media_type or "", permanent_location=r.permanent_location or "",
                        screen_message=r.screen_message,
                        known=not (status in ("", "00", "01") and not r.title))

    # ------------------------------------------------------------------ circulation
    @staticmethod
    def _checkout_result(r: CheckoutResponse, patron_id: str, item_id: str, *, resolved: bool = False
                         ) -> CheckoutResult:
        return CheckoutResult(
            ok=r.ok, item_id=r.item_id or item_id, patron_id=r.patron_id or patron_id, title=r.title,
            due=r.due_date, due_date=parse_due_date(r.due_date), renewal=bool(r.ok and r.renewal_ok),
            desensitize=r.desensitize, security_inhibit=bool(r.security_inhibit),
            media_type=r.media_type or "", fee_amount=r.fee_amount or "",
            screen_message=r.screen_message, print_line=r.print_line, resolved=resolved)

    def checkout(self, patron_id: str, item_id: str, *, pin: str | None = None, no_block: bool = False,
                 transaction_date: datetime | None = None, nb_due_date: datetime | None = None,
                 fee_acknowledged: bool = False) -> CheckoutResult:
        when = transaction_date or self._now()
        req = CheckoutRequest(
            sc_renewal_policy=False, no_block=no_block, transaction_date=when,
            # Koha uses the nb due date as the offline "timestamp" (sip2.md 1.6); strict servers
            # reject 18 blanks, so the transaction date is sent when no due date was promised.
            nb_due_date=nb_due_date or when, institution_id=self.institution, patron_id=patron_id,
            item_id=item_id, terminal_password=self.terminal_password, patron_password=pin,
            fee_acknowledged=True if fee_acknowledged else None)
        try:
            r = self.pool.request(req, safe=False)
        except OutcomeUnknown as lost:
            return self._resolve_checkout(req, lost)
        _expect(r, CheckoutResponse)
        assert isinstance(r, CheckoutResponse)
        return self._checkout_result(r, patron_id, item_id)

    def _resolve_checkout(self, req: CheckoutRequest, lost: OutcomeUnknown) -> CheckoutResult:
        """One resolution (kiosk.ils.base.resolve_checkout: 17, and 63 only when 18 names nobody);
        the checkout is sent once more only when 18 proves the item is charged to nobody."""
        item_id, patron_id = req.item_id, req.patron_id
        log.warning("checkout of item %s: no reply (%s); resolving with Item Information", mask(item_id), lost)
        found = resolve_checkout(self, item_id, patron_id, req.patron_password)
        info = found.info
        if found.verdict == MINE and info is not None:
            return CheckoutResult(ok=True, item_id=item_id, patron_id=patron_id, title=info.title,
                                  due=info.due, due_date=info.due_date, media_type=info.media_type,
                                  resolved=True)
        if found.verdict == OTHER and info is not None:
            return CheckoutResult(ok=False, item_id=item_id, patron_id=patron_id, title=info.title,
                                  screen_message="Item checked out to another patron", resolved=True)
        if found.verdict != NOT_OUT:
            raise Unresolved(f"checkout of item {mask(item_id)}: no reply, and the outcome could not be "
                             f"proved: {found.detail} -- staff must check", found.verdict, info) from lost
        # Charged to nobody: the checkout did not happen, so sending it once more cannot double it.
        log.info("item %s is not on loan: the lost checkout did not happen; sending it again", mask(item_id))
        try:
            r = self.pool.request(req, safe=False)
        except OutcomeUnknown as again:   # lost twice: do not ask again now, the replay will
            raise Unresolved(f"checkout of item {mask(item_id)}: sent again after Item Information showed "
                             f"it not on loan, and that reply was lost too ({again})", UNREACHABLE,
                             info) from again
        _expect(r, CheckoutResponse)
        assert isinstance(r, CheckoutResponse)
        return self._checkout_result(r, patron_id, item_id, resolved=True)

    def renew(self, patron_id: str, item_id: str, *, pin: str | None = None, no_block: bool = False,
              transaction_date: datetime | None = None) -> CheckoutResult:
        try:
            before = self.item_information(item_id)    # the due date to compare with if the reply is lost
        except OutcomeUnknown as exc:
            raise IlsUnavailable(f"renewal of item {mask(item_id)} not sent: Item Information got no "
                                 f"reply ({exc})") from exc
        when = transaction_date or self._now()
        req = RenewRequest(third_party_allowed=False, no_block=no_block, transaction_date=when,
                           nb_due_date=when, institution_id=self.institution, patron_id=patron_id,
                           patron_password=pin, item_id=item_id, terminal_password=self.terminal_password)
        try:
            r = self.pool.request(req, safe=False)
        except OutcomeUnknown as lost:
            log.warning("renewal of item %s: no reply (%s); resolving with Item Information", mask(item_id), lost)
            try:
                after = self.item_information(item_id)
            except (OutcomeUnknown, IlsUnavailable, ProtocolError) as exc:  # the request *was* sent
                raise OutcomeUnknown(f"renewal of item {mask(item_id)}: no reply, and Item Information "
                                     f"failed too ({exc})") from lost
            if after.circulation_status in CHARGED and after.due and after.due != before.due:
                return CheckoutResult(ok=True, item_id=item_id, patron_id=patron_id, title=after.title,
                                      due=after.due, due_date=after.due_date, renewal=True, resolved=True)
            # An unchanged due date does not prove "not renewed": a renewal counted from today on the
            # day of the checkout keeps it (Evergreen: "A renewal starts a new loan period from the
            # renewal date"; Koha with RenewalPeriodBase = now).  Never resent on that basis.
            raise Unresolved(f"renewal of item {mask(item_id)}: no reply, and the due date "
                             f"({after.due or 'not reported'}) does not prove whether it was renewed -- "
                             f"staff must check", UNPROVEN, after) from lost
        _expect(r, CheckoutResponse)     # RenewResponse is a CheckoutResponse layout
        assert isinstance(r, CheckoutResponse)
        return self._checkout_result(r, patron_id, item_id)

    def renew_all(self, patron_id: str, *, pin: str | None = None) -> RenewAllResult:
        r = self.pool.request(RenewAllRequest(transaction_date=self._now(), institution_id=self.institution,
                                              patron_id=patron_id, patron_password=pin,
                                              terminal_password=self.terminal_password), safe=False)
        _expect(r, RenewAllResponse)
        assert isinstance(r, RenewAllResponse)
        return RenewAllResult(ok=r.ok, renewed=r.renewed_items, unrenewed=r.unrenewed_items,
                              screen_message=r.screen_message)

    def checkin(self, item_id: str, *, no_block: bool = False, transaction_date: datetime | None = None,
                return_date: datetime | None = None) -> CheckinResult:
        when = transaction_date or self._now()
        r = self.pool.request(CheckinRequest(
            no_block=no_block, transaction_date=when, return_date=return_date or when,
            current_location=self.location, institution_id=self.institution, item_id=item_id,
            terminal_password=self.terminal_password), safe=True)
        _expect(r, CheckinResponse)
        assert isinstance(r, CheckinResponse)
        return CheckinResult(
            ok=r.ok, item_id=r.item_id or item_id, title=r.title or "", resensitize=r.resensitize,
            alert=bool(r.alert), alert_type=r.alert_type or "", sort_bin=r.sort_bin or "",
            destination=r.destination_location or "", hold_patron_id=r.hold_patron_id or "",
            permanent_location=r.permanent_location or "", media_type=r.media_type or "",
            screen_message=r.screen_message, print_line=r.print_line)

    def close(self) -> None:
        self.pool.close()
