"""One table from SIP2 request code to handler, like Koha's ``%handlers`` in ``C4/SIP/Sip/MsgType.pm``.

A handler takes the connection's :class:`Context` and the decoded request record and returns the
reply record; the server encodes it.  Handlers never raise for a library "no": that is a reply
with ``ok=0`` and the reason in AF.  If a handler fails anyway, :func:`refusal` builds the
failure form of the reply so that the client still gets a well-formed answer.

Replies imitate Koha where a kiosk can see the difference (reference sip2.md section 2):
unknown item on check-in is ``100NUY…AB…|CV99|AFInvalid Item|`` without AQ, unknown item in 17 is
``010101`` with an empty title, failed checkouts are ``120NUN`` with an empty AH, 35 always
answers ``36Y`` "Thank you!".  One documented extension: 18 carries the current borrower's card
number (not standard SIP2; Koha does not send it) so a kiosk can resolve an ambiguous checkout
without guessing.  It is sent twice: in ``XB``, a field id the standard does not use, and in
``AA``, the id kiosk.sip2's codec reads for it (AA is not defined for message 18).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kiosk.demo_ils import rules
from kiosk.demo_ils.db import LibraryDb
from kiosk.demo_ils.library import Library
from kiosk.sip2 import codec as c

BORROWER_FIELD = "XB"              # extension: current borrower in 18 (see module docstring)
SUPPORTED = "Y" * 16               # BX: all 16 messages (sip2.md 1.5 "BX supported messages")
HOLD_SHELF_DAYS = 7                # a waiting hold is kept this long (CM hold pickup date)
SYSTEM_ERROR = "System error. Please contact library staff."


@dataclass(frozen=True)
class Account:
    """A SIP login (Koha: a ``<login>`` in SIPconfig.xml)."""

    user: str
    password: str
    institution: str
    checked_in_ok: bool = False


@dataclass
class Session:
    """State of one connection: who logged in, and the last reply (for 97)."""

    account: Account | None = None
    location: str = ""
    last_reply: bytes | None = None


@dataclass
class Context:
    db: LibraryDb
    library: Library
    accounts: dict[str, Account]
    institution: str
    library_name: str = "Demo Library"
    session: Session = field(default_factory=Session)

    @property
    def terminal(self) -> str:
        acc = self.session.account
        return f"{acc.user}@{self.session.location}" if acc else ""

    def now(self) -> datetime:
        return self.db.clock()


def _due(dt: datetime | None) -> str:
    return c.sip_datetime(dt) if dt else ""


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


# ------------------------------------------------------------------------------ login, status
def login(ctx: Context, req: c.LoginRequest) -> c.LoginResponse:
    acc = ctx.accounts.get(req.login_user_id)
    ok = (req.uid_algorithm == "0" and req.pwd_algorithm == "0" and acc is not None
          and acc.password == req.login_password)
    ctx.session.account = acc if ok else None
    ctx.session.location = (req.location_code or "") if ok else ""
    if ok:
        ctx.library = Library(ctx.db, ctx.library.branch, checked_in_ok=acc.checked_in_ok)
    return c.LoginResponse(ok=ok)


def sc_status(ctx: Context, req: c.ScStatusRequest) -> c.AcsStatusResponse:
    online = ctx.session.account is not None
    return c.AcsStatusResponse(
        online_status=online, checkin_ok=online, checkout_ok=online, acs_renewal_policy=online,
        status_update_ok=online, offline_ok=True,
        timeout_period="100", retries_allowed="003",     # 10.0 s, as Koha's sample policy
        date_time_sync=ctx.now(), institution_id=ctx.institution, library_name=ctx.library_name,
        supported_messages=SUPPORTED, terminal_location=ctx.session.location or None,
        screen_messages=() if online else ("Login required",))


# ------------------------------------------------------------------------------------ patrons
def _patron_common(ctx: Context, card: str, pin: str | None) -> tuple[rules.PatronView | None, bool, list[str]]:
    now = ctx.now()
    patron = ctx.db.patron(card, now)
    if patron is None:
        return None, False, ["Invalid cardnumber"]
    pin_ok = rules.pin_ok(patron, pin)
    messages = []
    reason = rules.patron_block_reason(patron, now)
    if reason:
        messages.append(reason)
    if pin and not pin_ok:
        messages.append("Invalid password")
    return patron, pin_ok, messages


def patron_status(ctx: Context, req: c.PatronStatusRequest) -> c.PatronStatusResponse:
    return _patron_status_reply(ctx, req.patron_id, req.patron_password or None, req.language)


def _patron_status_reply(ctx: Context, card: str, pin: str | None, language: str = "000",
                         extra_message: str = "") -> c.PatronStatusResponse:
    now = ctx.now()
    patron, pin_ok, messages = _patron_common(ctx, card, pin)
    if extra_message:
        messages.insert(0, extra_message)
    return c.PatronStatusResponse(
        patron_status=rules.patron_status_string(patron, now), language=_language(ctx, card, language),
        transaction_date=now, institution_id=ctx.institution, patron_id=card,
        personal_name=patron.name if patron else "", valid_patron=patron is not None,
        valid_patron_password=pin_ok, currency_type=rules.CURRENCY if patron else None,
        fee_amount=rules.money(patron.fines) if patron else None, screen_messages=tuple(messages))


def _language(ctx: Context, card: str, asked: str) -> str:
    row = ctx.db.patron_row(card)
    return row["language"] if row else (asked or "000")


def patron_information(ctx: Context, req: c.PatronInformationRequest) -> c.PatronInformationResponse:
    now = ctx.now()
    card = req.patron_id
    patron, pin_ok, messages = _patron_common(ctx, card, req.patron_password or None)
    if patron is None:
        return c.PatronInformationResponse(
            patron_status=rules.patron_status_string(None, now), language=req.language or "000",
            transaction_date=now, hold_items_count=0, overdue_items_count=0, charged_items_count=0,
            fine_items_count=0, recall_items_count=0, unavailable_holds_count=0,
            institution_id=ctx.institution, patron_id=card, personal_name="", valid_patron=False,
            valid_patron_password=False, screen_messages=tuple(messages))
    db = ctx.db
    row = db.patron_row(card)
    category = rules.CATEGORIES[patron.category]
    loans = db.loans_of(card)
    holds = db.holds_of(card)
    waiting = [h.barcode for h in holds if h.status == "waiting"]
    unavailable = [h.barcode for h in holds if h.status != "waiting"]
    overdue = [ln.barcode for ln in loans if ln.due_at < now]
    fine_items = [r["barcode"] or f"fee {r['id']}" for r in db.fines_of(card)]
    fine_items += [ln.barcode for ln, _ in db.accruing_fines(card, now) if ln.barcode not in fine_items]
    summary = (req.summary or "").upper()
    wanted = summary.find("Y")
    start = int(req.start_item) if (req.start_item or "").strip().isdigit() else 1
    end = int(req.end_item) if (req.end_item or "").strip().isdigit() else start + 49
    page = slice(max(start, 1) - 1, max(end, start))
    lists = {0: waiting, 1: overdue, 2: [ln.barcode for ln in loans], 3: fine_items, 5: unavailable}
    chosen = lists.get(wanted, [])[page] if wanted >= 0 else []
    if waiting:
        messages.append(f"{len(waiting)} hold(s) waiting for you")
    return c.PatronInformationResponse(
        patron_status=rules.patron_status_string(patron, now), language=row["language"],
        transaction_date=now, hold_items_count=len(waiting), overdue_items_count=len(overdue),
        charged_items_count=len(loans), fine_items_count=len(fine_items), recall_items_count=0,
        unavailable_holds_count=len(unavailable), institution_id=ctx.institution, patron_id=card,
        personal_name=patron.name, hold_items_limit=f"{category.max_holds:04d}",
        overdue_items_limit=f"{category.max_overdue:04d}", charged_items_limit=f"{category.max_loans:04d}",
        valid_patron=True, valid_patron_password=pin_ok, currency_type=rules.CURRENCY,
        fee_amount=rules.money(patron.fines), fee_limit=rules.money(category.max_fines),
        hold_items=tuple(chosen) if wanted == 0 else (), overdue_items=tuple(chosen) if wanted == 1 else (),
        charged_items=tuple(chosen) if wanted == 2 else (), fine_items=tuple(chosen) if wanted == 3 else (),
        unavailable_hold_items=tuple(chosen) if wanted == 5 else (),
        home_address=row["address"] or None, email_address=row["email"] or None,
        home_phone_number=row["phone"] or None, screen_messages=tuple(messages),
        extra=(("PC", patron.category),))


def end_patron_session(ctx: Context, req: c.EndPatronSessionRequest) -> c.EndPatronSessionResponse:
    return c.EndPatronSessionResponse(end_session=True, transaction_date=ctx.now(), institution_id=ctx.institution,
                                      patron_id=req.patron_id, screen_messages=("Thank you!",))


def block_patron(ctx: Context, req: c.BlockPatronRequest) -> c.PatronStatusResponse:
    ctx.library.block_patron(req.patron_id, req.blocked_card_msg, terminal=ctx.terminal)
    return _patron_status_reply(ctx, req.patron_id, None)


def patron_enable(ctx: Context, req: c.PatronEnableRequest) -> c.PatronEnableResponse:
    now = ctx.now()
    pin = req.patron_password
    patron = ctx.db.patron(req.patron_id, now)
    if patron is not None and (pin is None or rules.pin_ok(patron, pin)):
        ctx.library.enable_patron(req.patron_id, terminal=ctx.terminal)
        patron = ctx.db.patron(req.patron_id, now)
    return c.PatronEnableResponse(
        patron_status=rules.patron_status_string(patron, now), language="000", transaction_date=now,
        institution_id=ctx.institution, patron_id=req.patron_id, personal_name=patron.name if patron else "",
        valid_patron=patron is not None,
        valid_patron_password=(rules.pin_ok(patron, pin) if patron else False) if pin is not None else None)


# -------------------------------------------------------------------------------- circulation
def _circulation_reply(cls: type, ctx: Context, card: str, barcode: str, out) -> c.CheckoutResponse:
    fee = {}
    if out.fee:
        fee = dict(fee_type=out.fee_type, currency_type=rules.CURRENCY, fee_amount=rules.money(out.fee))
    if out.ok:
        return cls(ok=True, renewal_ok=out.renewal, magnetic_media=False, desensitize=True,
                   transaction_date=ctx.now(), institution_id=ctx.institution, patron_id=card, item_id=barcode,
                   title=out.title, due_date=_due(out.due_at), security_inhibit=False, media_type=out.media_type,
                   screen_messages=(out.message,) if out.message else (), **fee)
    # Koha: "0NUN", the title when the item is known, an empty due date, the reason, BL.
    return cls(ok=False, renewal_ok=False, magnetic_media=None, desensitize=False, transaction_date=ctx.now(),
               institution_id=ctx.institution, patron_id=card, item_id=barcode, title=out.title, due_date="",
               media_type=out.media_type or None, screen_messages=(out.message,), **fee,
               extra=(("BL", _yn(out.patron_known)),))


def checkout(ctx: Context, req: c.CheckoutRequest):
    if req.cancel:
        out = ctx.library.cancel_checkout(req.patron_id, req.item_id, terminal=ctx.terminal)
    else:
        out = ctx.library.checkout(
            req.patron_id, req.item_id, pin=req.patron_password or None, no_block=bool(req.no_block),
            transaction_date=req.transaction_date, nb_due_date=req.nb_due_date,
            fee_acknowledged=bool(req.fee_acknowledged), terminal=ctx.terminal)
    return _circulation_reply(c.CheckoutResponse, ctx, req.patron_id, req.item_id, out)


def renew(ctx: Context, req: c.RenewRequest):
    out = ctx.library.renew(req.patron_id, req.item_id or "", pin=req.patron_password or None,
                            no_block=bool(req.no_block), nb_due_date=req.nb_due_date, terminal=ctx.terminal)
    return _circulation_reply(c.RenewResponse, ctx, req.patron_id, req.item_id or "", out)


def renew_all(ctx: Context, req: c.RenewAllRequest) -> c.RenewAllResponse:
    out = ctx.library.renew_all(req.patron_id, pin=req.patron_password or None, terminal=ctx.terminal)
    return c.RenewAllResponse(ok=out.ok, renewed_count=len(out.renewed), unrenewed_count=len(out.unrenewed),
                              transaction_date=ctx.now(), institution_id=ctx.institution,
                              renewed_items=out.renewed, unrenewed_items=out.unrenewed,
                              screen_messages=(out.message,) if out.message else ())


def checkin(ctx: Context, req: c.CheckinRequest) -> c.CheckinResponse:
    out = ctx.library.checkin(req.item_id, return_date=req.return_date, no_block=bool(req.no_block),
                              transaction_date=req.transaction_date, terminal=ctx.terminal)
    if not out.item_known:   # Koha: 100NUY ... AB|CV99|AFInvalid Item| (no AQ)
        return c.CheckinResponse(ok=False, resensitize=False, magnetic_media=None, alert=True,
                                 transaction_date=ctx.now(), institution_id=ctx.institution, item_id=req.item_id,
                                 alert_type=rules.ALERT_OTHER, screen_messages=(out.message,))
    return c.CheckinResponse(
        ok=out.ok, resensitize=True, magnetic_media=False, alert=out.alert, transaction_date=ctx.now(),
        institution_id=ctx.institution, item_id=req.item_id, permanent_location=out.permanent_location,
        title=out.title, sort_bin=out.sort_bin or None, patron_id=out.borrower or None,
        media_type=out.media_type or None, call_number=out.call_number or None,
        destination_location=out.destination or None, alert_type=out.alert_type or None,
        hold_patron_id=out.hold_card or None, hold_patron_name=out.hold_name or None,
        screen_messages=(out.message,) if out.message else ())


# ------------------------------------------------------------------------------------- items
def item_information(ctx: Context, req: c.ItemInformationRequest) -> c.ItemInformationResponse:
    db, now = ctx.db, ctx.now()
    item = db.item(req.item_id)
    if item is None:   # Koha: "010101", the id echoed, an empty title
        return c.ItemInformationResponse(circulation_status="01", security_marker="01", fee_type="01",
                                         transaction_date=now, item_id=req.item_id, title="")
    row = db.item_row(item.barcode)
    loan = db.loan_of_item(item.barcode)
    holds = db.holds_on(item.barcode)
    waiting = next((h for h in holds if h.status == "waiting"), None)
    extra = [("CS", row["call_number"])]
    if loan is not None:
        extra.append((BORROWER_FIELD, loan.card))
    notes = []
    if not item.policy.for_loan:
        notes.append("Not for loan")
    if item.parts > 1:
        notes.append(f"{item.parts} parts")
    if item.status == "withdrawn":   # SIP2 has no code for it (01 "other"): say it in words
        notes.append("Withdrawn")
    fee = item.policy.rental_fee
    return c.ItemInformationResponse(
        circulation_status=rules.circulation_status(item, loan, holds), security_marker="02",
        fee_type=rules.FEE_RENTAL if fee else "01", transaction_date=now,
        hold_queue_length=str(len(holds)) if holds else None, due_date=_due(loan.due_at) if loan else None,
        hold_pickup_date=c.sip_datetime(now.replace(hour=23, minute=59, second=0) + timedelta(days=HOLD_SHELF_DAYS))
        if waiting else None,
        item_id=item.barcode, title=item.title, owner=item.home_branch,
        currency_type=rules.CURRENCY if fee else None, fee_amount=rules.money(fee) if fee else None,
        media_type=item.policy.sip_media_type, permanent_location=f"{item.home_branch} {row['location']}",
        current_location=item.transit_to or item.home_branch, item_properties=row["properties"] or None,
        patron_id=loan.card if loan else None, screen_messages=tuple(notes), extra=tuple(extra))


def item_status_update(ctx: Context, req: c.ItemStatusUpdateRequest) -> c.ItemStatusUpdateResponse:
    ok = ctx.library.update_item_properties(req.item_id, req.item_properties, terminal=ctx.terminal)
    item = ctx.db.item(req.item_id)
    return c.ItemStatusUpdateResponse(item_properties_ok="1" if ok else "0", transaction_date=ctx.now(),
                                      item_id=req.item_id, title=item.title if item else None,
                                      item_properties=req.item_properties if ok else None)


# ------------------------------------------------------------------------------- fees, holds
def fee_paid(ctx: Context, req: c.FeePaidRequest) -> c.FeePaidResponse:
    ok, msg = ctx.library.pay(req.patron_id, req.fee_amount, fee_id=req.fee_identifier, terminal=ctx.terminal)
    return c.FeePaidResponse(payment_accepted=ok, transaction_date=ctx.now(), institution_id=ctx.institution,
                             patron_id=req.patron_id, transaction_id=req.transaction_id,
                             screen_messages=(msg,))


def hold(ctx: Context, req: c.HoldRequest) -> c.HoldResponse:
    out = ctx.library.hold(req.hold_mode, req.patron_id, req.item_id or "", pickup=req.pickup_location or "",
                           terminal=ctx.terminal)
    return c.HoldResponse(
        ok=out.ok, available=out.available, transaction_date=ctx.now(),
        expiration_date=req.expiration_date if out.ok else None,
        queue_position=str(out.queue_position) if out.ok and out.queue_position else None,
        pickup_location=out.pickup_branch or None, institution_id=ctx.institution, patron_id=req.patron_id,
        item_id=req.item_id if out.ok else None, title=out.title or None,
        screen_messages=(out.message,) if out.message else ())


HANDLERS: dict[str, Callable] = {
    "93": login, "99": sc_status, "23": patron_status, "63": patron_information,
    "35": end_patron_session, "01": block_patron, "25": patron_enable,
    "11": checkout, "29": renew, "65": renew_all, "09": checkin,
    "17": item_information, "19": item_status_update, "37": fee_paid, "15": hold,
}


def refusal(ctx: Context, code: str, req: c.Message | None, message: str) -> c.Message:
    """The failure form of the reply to request ``code`` (not logged in, internal error...)."""
    get = (lambda name: getattr(req, name, "") or "") if req is not None else (lambda name: "")
    now, inst, msgs = ctx.now(), ctx.institution, (message,)
    if code == "93":
        return c.LoginResponse(ok=False)
    if code == "99":
        return c.AcsStatusResponse(online_status=False, date_time_sync=now, institution_id=inst,
                                   supported_messages=SUPPORTED, screen_messages=msgs)
    if code in ("23", "01"):
        return c.PatronStatusResponse(patron_status="Y" * 4 + " " * 10, transaction_date=now, institution_id=inst,
                                      patron_id=get("patron_id"), personal_name="", valid_patron=False,
                                      valid_patron_password=False, screen_messages=msgs)
    if code == "63":
        return c.PatronInformationResponse(patron_status="Y" * 4 + " " * 10, transaction_date=now,
                                           institution_id=inst, patron_id=get("patron_id"), personal_name="",
                                           valid_patron=False, valid_patron_password=False, screen_messages=msgs)
    if code in ("11", "29"):
        cls = c.CheckoutResponse if code == "11" else c.RenewResponse
        return cls(ok=False, renewal_ok=False, magnetic_media=None, desensitize=False, transaction_date=now,
                   institution_id=inst, patron_id=get("patron_id"), item_id=get("item_id"), title="",
                   due_date="", screen_messages=msgs)
    if code == "09":
        return c.CheckinResponse(ok=False, resensitize=False, magnetic_media=None, alert=True, transaction_date=now,
                                 institution_id=inst, item_id=get("item_id"), screen_messages=msgs)
    if code == "65":
        return c.RenewAllResponse(ok=False, transaction_date=now, institution_id=inst, screen_messages=msgs)
    if code == "17":
        return c.ItemInformationResponse(transaction_date=now, item_id=get("item_id"), title="", screen_messages=msgs)
    if code == "19":
        return c.ItemStatusUpdateResponse(item_properties_ok="0", transaction_date=now, item_id=get("item_id"),
                                          screen_messages=msgs)
    if code == "35":
        return c.EndPatronSessionResponse(end_session=False, transaction_date=now, institution_id=inst,
                                          patron_id=get("patron_id"), screen_messages=msgs)
    if code == "37":
        return c.FeePaidResponse(payment_accepted=False, transaction_date=now, institution_id=inst,
                                 patron_id=get("patron_id"), screen_messages=msgs)
    if code == "15":
        return c.HoldResponse(ok=False, transaction_date=now, institution_id=inst, patron_id=get("patron_id"),
                              screen_messages=msgs)
    if code == "25":
        return c.PatronEnableResponse(patron_status="Y" * 4 + " " * 10, transaction_date=now, institution_id=inst,
                                      patron_id=get("patron_id"), personal_name="", valid_patron=False,
                                      screen_messages=msgs)
    return c.RequestScResend()
