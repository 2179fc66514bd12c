"""The engine against other library systems' SIP2 behaviour (issue 13): live path, resolution, replay.

Every scenario runs the real client, SipIls, Circulator/Replayer and journal against FakeAcs
playing a server "personality" (kiosk.sip2.testing.PERSONALITIES: Koha, Evergreen, Sierra,
Symphony, FOLIO edge-sip2, each citing the public source it follows).  The rule under test: only
positive proof settles an outcome; what cannot be proved goes to staff and is never resent.
"""

from __future__ import annotations

import socket
import threading

import pytest

from kiosk.circulation import journal as j
from kiosk.circulation.journal import Journal
from kiosk.circulation.offline import OfflinePolicy
from kiosk.circulation.replay import Replayer
from kiosk.circulation.transact import Circulator
from kiosk.cli import main
from kiosk.errors import IlsUnavailable, OutcomeUnknown, ProtocolError
from kiosk.ils.base import (
    MINE,
    NOT_OUT,
    OTHER,
    UNPROVEN,
    CheckinResult,
    ItemInfo,
    checkin_bare_refusal,
    judge_checkout,
    judge_return,
)
from kiosk.sip2.client import Sip2Client
from kiosk.sip2.codec import ItemInformationRequest
from kiosk.sip2.ils import SipIls
from kiosk.sip2.pool import Sip2Pool
from kiosk.sip2.testing import PERSONALITIES, FakeAcs

pytestmark = pytest.mark.sip2_only("other servers' SIP2 dialects scripted frame by frame; FOLIO's documented replies: tests/test_folio_ils.py")

TIMEOUT = 0.3
ALL = sorted(PERSONALITIES)


def sip_ils(server: FakeAcs, *, error_detection: bool = True, size: int = 1) -> SipIls:
    def factory() -> Sip2Client:
        return Sip2Client("127.0.0.1", server.port, user="kiosk", password="kiosk", institution="TEST",
                          location="KIOSK1", timeout_s=TIMEOUT, retries=2, error_detection=error_detection)
    return SipIls(Sip2Pool(factory, size=size), institution="TEST", location="KIOSK1")


@pytest.fixture
def engine(tmp_path):
    made = []

    def build(personality: str | None, mode: str = "returns", error_detection: bool = True, **kw):
        server = FakeAcs(personality=personality, **kw).start()
        ils = sip_ils(server, error_detection=error_detection)
        journal = Journal(tmp_path / f"j{len(made)}.sqlite3")
        made.append((server, ils, journal))
        return server, ils, journal, Circulator(ils, journal, OfflinePolicy(mode=mode))
    yield build
    for server, ils, journal in made:
        ils.close()
        journal.close()
        server.stop()


def lend(server: FakeAcs, patron: str, *items: str) -> None:
    for item in items:
        server.library.items[item].borrower = patron


# ------------------------------------------------------------------ the pure rule

def test_only_proof_settles_a_checkout():
    charged = ItemInfo("I1", circulation_status="04")
    assert judge_checkout(ItemInfo("I1", circulation_status="03"), "I1", "P1") == NOT_OUT
    assert judge_checkout(ItemInfo("I1", circulation_status="04", patron_id=" p1 "), "I1", "P1") == MINE
    assert judge_checkout(ItemInfo("I1", circulation_status="04", patron_id="P2"), "I1", "P1") == OTHER
    assert judge_checkout(charged, "I1", "P1", loans=["I1"]) == MINE
    assert judge_checkout(charged, "I1", "P1", loans=["Perl 5 desktop reference"]) == UNPROVEN
    assert judge_checkout(charged, "I1", "P1", loans=[]) == UNPROVEN
    for status in ("01", "11", "12", "13", "", "  "):        # lost, missing, other: prove nothing
        assert judge_checkout(ItemInfo("I1", circulation_status=status), "I1", "P1") == UNPROVEN


def test_a_bare_refusal_is_decided_by_item_information():
    bare = CheckinResult(ok=False, item_id="1565921879", title="Perl 5 desktop reference", resensitize=True)
    assert checkin_bare_refusal(bare)
    assert not checkin_bare_refusal(CheckinResult(ok=False, item_id="x", screen_message="Item not checked out"))
    assert not checkin_bare_refusal(CheckinResult(ok=False, item_id="x", alert=True, alert_type="99"))
    assert judge_return(ItemInfo("x", circulation_status="03")) == (True, None)
    assert judge_return(ItemInfo("x", circulation_status="09")) == (True, None)
    assert judge_return(ItemInfo("x", circulation_status="08")) == (True, "hold_here")
    assert judge_return(ItemInfo("x", circulation_status="04")) == (False, None)
    assert judge_return(ItemInfo("x", circulation_status="12")) == (None, None)


# ------------------------------------------------------------------ 13.1 lost checkout reply, live

@pytest.mark.parametrize("personality", ALL)
def test_lost_checkout_reply_is_settled_only_by_proof(engine, personality):
    server, ils, journal, circ = engine(personality)
    lend(server, "P1", *(f"I{i}" for i in range(1, 7)))     # six loans already: a paged AU may omit more
    server.inject("drop_after", "11")                         # the library checks I9 out; the reply is lost
    out = circ.checkout("P1", "I9")
    assert server.acted("11", "I9") == 1 and server.received.count("11") == 1, "never resent"
    assert server.acted("29", "I9") == 0
    pers = PERSONALITIES[personality]
    listed = pers.au == "barcode" and pers.au_page is None
    if listed:      # Koha, Sierra, FOLIO: the barcode is among the patron's charged items -- proof
        assert out.acknowledged and out.title == "Book number 9"
    else:           # Evergreen (titles in AU), Symphony (paged): nothing proves it -- staff
        assert out.state == "needs_staff" and out.reason_key == "check_at_desk" and not out.acknowledged
        assert out.reason_key != "on_loan_to_other"
        row = journal.get(out.journal_id)
        assert row.state == j.STAFF and row.reason_key == "unconfirmed_checkout"


def test_lost_checkout_of_an_item_another_patron_holds_is_never_called_refused(engine):
    """Evergreen: I3 is on loan to P2 (18 does not say so); P1's lost checkout cannot be proved
    either way.  Today's engine told P1 "refused: on loan to another patron"."""
    server, ils, journal, circ = engine("evergreen")
    lend(server, "P2", "I3")
    server.inject("drop_before", "11")
    out = circ.checkout("P1", "I3")
    assert out.state == "needs_staff" and out.reason_key != "on_loan_to_other"
    assert server.received.count("11") == 1


def test_a_lost_renewal_with_an_unchanged_due_date_is_not_resent(engine):
    """The renewal never reached the library, or it did and kept the due date (a same-day renewal
    counted from today): the due date cannot tell.  Today's adapter resent it."""
    server, ils, journal, circ = engine("evergreen")
    assert circ.checkout("P1", "I8").acknowledged
    server.inject("drop_before", "29")
    out = circ.renew("P1", "I8")
    assert out.state == "needs_staff" and not out.acknowledged
    assert server.received.count("29") == 1


# ------------------------------------------------------------------ 13.1 replay

@pytest.mark.parametrize("personality", ["evergreen", "symphony"])
def test_replay_never_resends_an_acknowledged_checkout_it_cannot_disprove(engine, personality):
    """The checkout reached the library, its reply was lost, Item Information too: the patron was
    told "done" (journaled offline).  At replay 18 says charged, AU does not list the barcode (titles,
    or a page): today's replay resent it with no block = Y (a renewal on Koha-like systems)."""
    server, ils, journal, circ = engine(personality, mode="returns+checkouts")
    lend(server, "P1", *(f"I{i}" for i in range(1, 7)))
    server.inject("drop_after", "11")
    server.inject("hang", "17")                   # the resolution cannot ask either
    out = circ.checkout("P1", "I9")
    assert out.acknowledged and out.journaled
    server.hanging.clear()
    report = Replayer(ils, journal).sync()
    assert server.received.count("11") == 1 and server.acted("29", "I9") == 0, "resent"
    assert report.staff == 1 and report.synced == 0
    assert journal.staff_queue()[0].reason_key == "unconfirmed_checkout"


def test_replay_settles_an_acknowledged_checkout_koha_lists(engine):
    server, ils, journal, circ = engine("koha", mode="returns+checkouts")
    server.inject("drop_after", "11")
    server.inject("hang", "17")
    assert circ.checkout("P1", "I9").journaled
    server.hanging.clear()
    report = Replayer(ils, journal).sync()
    assert report.synced == 1 and server.received.count("11") == 1


# ------------------------------------------------------------------ 13.1 check-in "already in"

@pytest.mark.parametrize("personality", ALL)
def test_a_repeated_return_is_done_on_every_server(engine, personality):
    """Evergreen/Sierra answer ok=0 with no alert and no message for an item already in
    (100YNN...|AQ|AJ...|): Item Information (available) settles it -- never "check at desk"."""
    server, ils, journal, circ = engine(personality)
    out = circ.checkin("I4")                       # I4 is not on loan
    assert out.state == "done" and out.reason_key is None and not out.journaled, (personality, out)
    assert journal.get(out.journal_id).state == j.DONE


@pytest.mark.parametrize("personality", ["evergreen", "sierra"])
def test_a_return_whose_reply_was_lost_is_done_on_servers_that_answer_bare(engine, personality):
    server, ils, journal, circ = engine(personality)
    lend(server, "P1", "I5")
    server.inject("drop_after", "09")             # checked in; the reply is lost
    out = circ.checkin("I5")
    assert out.state == "done" and out.reason_key is None and not out.journaled
    assert server.acted("09", "I5") == 2 and server.library.items["I5"].borrower == ""
    assert "17" in server.received


@pytest.mark.parametrize("personality", ["evergreen", "sierra"])
def test_a_replayed_return_of_an_item_already_in_is_synced(engine, personality):
    server, ils, journal, circ = engine(personality)
    lend(server, "P1", "I6")
    server.inject("hang", "")                      # library away: the return is journaled
    assert circ.checkin("I6").journaled
    server.hanging.clear()
    server.library.items["I6"].borrower = ""       # meanwhile checked in at the desk
    report = Replayer(ils, journal).sync()
    assert report.synced == 1 and report.staff == 0


# ------------------------------------------------------------------ 13.2 replies belong to their request

def test_a_reply_written_twice_never_answers_the_next_request(engine):
    """Error detection off: the stale copy of I1's reply used to answer I2's checkout (I2 'done',
    security bit cleared) although the library refused I2."""
    server, ils, journal, circ = engine(None, error_detection=False)
    lend(server, "P2", "I2")
    server.inject("write_twice", "11")
    assert circ.checkout("P1", "I1").acknowledged
    assert server.wrote_twice.wait(2)
    out = circ.checkout("P1", "I2")
    assert out.state == "refused" and out.reason_key == "on_loan_to_other" and out.security is None
    assert server.library.items["I2"].borrower == "P2"


@pytest.mark.parametrize("error_detection", [True, False])
def test_a_reply_about_another_item_is_treated_as_lost(error_detection):
    with FakeAcs() as server, Sip2Client("127.0.0.1", server.port, user="kiosk", password="kiosk",
                                         institution="TEST", timeout_s=TIMEOUT, retries=0,
                                         error_detection=error_detection) as c:
        server.inject("other_item", "17")
        with pytest.raises(OutcomeUnknown, match="another item"):
            c.request(ItemInformationRequest(institution_id="TEST", item_id="I3"))
        assert c.request(ItemInformationRequest(institution_id="TEST", item_id="I3")).item_id == "I3"


def test_a_misdirected_checkout_reply_is_resolved_not_believed(engine):
    server, ils, journal, circ = engine("folio")
    server.inject("other_item", "11")              # the library acted; the reply names another item
    out = circ.checkout("P1", "I7")
    assert out.acknowledged and server.acted("11", "I7") == 1 and server.received.count("11") == 1
    assert "17" in server.received                  # resolved, not taken as the answer


# ------------------------------------------------------------------ 13.6 login answered by something else

@pytest.mark.parametrize("digits", ["¹⁰⁰", "١٠٠", "1O0"])
def test_acs_status_with_non_ascii_digits_is_a_protocol_error(digits):
    with FakeAcs(timeout_period=digits) as server:
        c = Sip2Client("127.0.0.1", server.port, user="kiosk", password="kiosk", timeout_s=TIMEOUT)
        with pytest.raises(ProtocolError, match="timeout period") as got:
            c.connect()
        assert isinstance(got.value, IlsUnavailable)        # nothing of a transaction was sent
    with FakeAcs(retries_allowed=digits) as server, pytest.raises(ProtocolError, match="retries"):
        Sip2Client("127.0.0.1", server.port, user="kiosk", password="kiosk", timeout_s=TIMEOUT).connect()


@pytest.mark.parametrize("digits", ["¹⁰⁰", "١٠٠", "۱۲۳", "𝟏𝟎𝟎"])
def test_the_pure_codec_reads_non_ascii_digits_as_no_number(digits):
    from kiosk.sip2 import codec
    frame = f"98YYYYNN{digits}{digits}20240101    1200002.00AOTEST|BXYYYYYYYYYYYNYYYY|".encode()
    reply = codec.decode(frame)
    assert reply.timeout_s is None and reply.retries is None      # never a ValueError


def test_a_patron_on_a_server_with_a_malformed_98_is_not_stuck_identifying(tmp_path):
    from kiosk import config
    from kiosk.circulation.service import KioskService
    with FakeAcs(timeout_period="²²²") as server:
        ils = sip_ils(server)
        settings = config.load(None, [f"storage.data_dir={tmp_path}", "kiosk.offline_policy=returns"])
        with Journal(tmp_path / "journal.sqlite3") as journal, KioskService(settings, ils, journal) as svc:
            svc.card_presented("P1")
            assert svc.wait_idle(5)
            view = svc.view()    # answered (offline: returns only), not left waiting forever
            assert not view.busy and view.message_key == "offline_returns_only" and svc.protocol_errors == 1
        ils.close()


class NotSip2Server:
    """A loopback port that speaks something else: ``banner`` on connect, ``answer`` to any line."""

    def __init__(self, banner: bytes = b"", answer: bytes = b"") -> None:
        self.banner, self.answer = banner, answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self.banner)
                try:
                    if conn.recv(4096) and self.answer:
                        conn.sendall(self.answer)
                    conn.recv(4096)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("banner,answer", [
    (b"", b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", b""),
])
def test_a_port_that_is_not_sip2_is_a_protocol_error_exit_2(capsys, monkeypatch, banner, answer):
    monkeypatch.setenv("KIOSK_PASSWORD", "kiosk")      # not --password: that warns on stderr (ps shows it)
    other = NotSip2Server(banner, answer)
    try:
        code = main(["sip2", "--set", f"ils.timeout_s={TIMEOUT}", "--server", f"127.0.0.1:{other.port}",
                     "--user", "kiosk", "status"])
    finally:
        other.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "not a SIP2 server" in err[0], err


def test_a_return_against_a_port_that_is_not_sip2_exits_2(tmp_path, capsys):
    """The engine's commands too: the return is journaled (nothing was sent), the exit says why."""
    from pathlib import Path
    other = NotSip2Server(b"", b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
    demo = Path(__file__).resolve().parent.parent / "config" / "demo.toml"
    try:
        code = main(["return", "--config", str(demo), "--set", f"ils.port={other.port}",
                     "--set", f"ils.timeout_s={TIMEOUT}", "--set", f"storage.data_dir={tmp_path}", "I1"])
    finally:
        other.close()
    assert code == 2, capsys.readouterr()


# ------------------------------------------------------------------ 13.8 a silent library system

SILENT = {"everything": ("",), "circulation only": ("11", "09", "17", "63", "29")}   # login still answered


def _circulation(codes: list[str]) -> list[str]:
    return [c for c in codes if c not in ("93", "99")]


@pytest.mark.parametrize("silent", sorted(SILENT))
def test_a_silent_server_costs_one_timeout_plus_one_resolution_per_checkout(engine, silent):
    server, ils, journal, circ = engine("koha", mode="returns+checkouts")
    assert circ.checkout("P1", "I1").acknowledged              # connected and logged in
    before = len(server.received)
    for code in SILENT[silent]:
        server.inject("hang", code)
    out = circ.checkout("P1", "I2")
    unanswered = server.received[before:]
    assert unanswered.count("11") == 1
    assert len(_circulation(unanswered)) <= 2, unanswered          # the checkout + one resolution question
    assert silent != "everything" or len(unanswered) <= 2, unanswered   # ... or the login it needed
    assert out.acknowledged and out.journaled                    # offline policy: journaled, replay decides


@pytest.mark.parametrize("silent", sorted(SILENT))
def test_a_silent_server_costs_one_timeout_plus_one_resend_per_return(engine, silent):
    server, ils, journal, circ = engine("evergreen")
    lend(server, "P1", "I3")
    assert circ.checkin("I4").state == "done"
    before = len(server.received)
    for code in SILENT[silent]:
        server.inject("hang", code)
    out = circ.checkin("I3")
    unanswered = server.received[before:]
    assert unanswered.count("09") <= 2 and len(_circulation(unanswered)) <= 2, unanswered
    assert out.acknowledged and out.journaled


def test_a_patron_can_finish_while_the_library_system_is_silent(tmp_path):
    """The session waits for the in-flight item (shown busy/"still working"), then ends on its own:
    bounded by one timeout plus one resolution, the item journaled for the replay."""
    from kiosk import config
    from kiosk.circulation import view as v
    from kiosk.circulation.service import KioskService
    with FakeAcs(personality="koha") as server:
        ils = sip_ils(server, size=2)
        settings = config.load(None, [f"storage.data_dir={tmp_path}", "kiosk.offline_policy=returns+checkouts",
                                      "ils.pool_size=2"])
        with Journal(tmp_path / "journal.sqlite3") as journal, KioskService(settings, ils, journal) as svc:
            svc.card_presented("P1")
            assert svc.wait_idle(5) and svc.view().state == v.IDENTIFIED
            server.inject("hang", "")
            before = len(server.received)
            svc.item_seen("I2")
            svc.finish("none")
            view = svc.view()
            assert view.state == v.RECEIPT and view.busy        # finishing, the item still in flight
            assert svc.wait_idle(10)
            assert svc.view().state in (v.ENDED, v.IDLE)
            assert len(server.received[before:]) <= 3           # 11, one resolution, at most the end-session
            assert journal.pending()[0].item_id == "I2"         # journaled: the replay settles it
        ils.close()
