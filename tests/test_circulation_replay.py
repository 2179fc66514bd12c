"""Replay of journaled transactions: order, original dates, no block, ambiguity, conflicts."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.circulation import journal as j
from kiosk.circulation.journal import Journal
from kiosk.circulation.memory_ils import MemItem, MemoryIls, MemPatron
from kiosk.circulation.offline import OfflinePolicy
from kiosk.circulation.replay import Replayer
from kiosk.circulation.transact import Circulator
from kiosk.errors import OutcomeUnknown

P, Q = "P1", "P2"


@pytest.fixture
def world(tmp_path):
    ils = MemoryIls([MemPatron(P), MemPatron(Q)], [MemItem(f"B{i}", title=f"T{i}") for i in range(20)])
    journal = Journal(tmp_path / "j.sqlite3")
    yield ils, journal
    journal.close()


def circ(ils, journal, mode="returns+checkouts", **kw) -> Circulator:
    return Circulator(ils, journal, OfflinePolicy(mode=mode, **kw))


def test_offline_transactions_replay_in_order_with_original_dates_and_no_block(world):
    ils, journal = world
    ils.items["B1"].borrower = Q
    c = circ(ils, journal)
    ils.down = True
    out1 = c.checkin("B1")
    out2 = c.checkout(P, "B1")            # the same item, after its offline return
    out3 = c.checkout(P, "B2")
    assert all(o.acknowledged and o.journaled for o in (out1, out2, out3))
    queued = journal.pending()
    assert [(r.kind, r.item_id) for r in queued] == [("checkin", "B1"), ("checkout", "B1"), ("checkout", "B2")]
    ils.down = False
    report = Replayer(ils, journal).sync()
    assert report.synced == 3 and report.remaining == 0 and report.staff == 0
    assert [(t.kind, t.item_id, t.patron_id) for t in ils.log] == [
        ("checkin", "B1", None), ("checkout", "B1", P), ("checkout", "B2", P)]
    assert all(t.no_block for t in ils.log)
    assert ils.log[0].transaction_date == datetime.fromisoformat(queued[0].txn_date)
    assert ils.items["B2"].due == datetime.fromisoformat(journal.get(out3.journal_id).due_date)   # promised date


def test_a_new_transaction_on_an_item_waits_for_its_journaled_ones(world):
    ils, journal = world
    ils.items["B3"].borrower = Q
    c = circ(ils, journal)
    ils.down = True
    assert c.checkin("B3").journaled
    ils.down = False
    out = c.checkout(P, "B3")             # online now: the offline return must go first
    assert out.acknowledged and not out.journaled
    assert [(t.kind, t.no_block) for t in ils.log] == [("checkin", True), ("checkout", False)]


def test_conflicts_go_to_the_staff_queue_never_dropped(world):
    ils, journal = world
    c = circ(ils, journal)
    ils.down = True
    c.checkin("NOSUCH")                   # unknown item, accepted offline
    ils.down = False
    report = Replayer(ils, journal).sync()
    assert report.staff == 1
    (row,) = journal.staff_queue()
    assert row.item_id == "NOSUCH" and row.reason_key == "unknown_item" and row.reason_text == "Invalid Item"


def test_replay_stops_when_the_library_goes_away_and_keeps_the_rest_queued(world):
    ils, journal = world
    c = circ(ils, journal)
    ils.down = True
    for i in range(5):
        c.checkout(P, f"B{i}")
    ils.down = False
    calls = {"n": 0}
    real = ils.checkout

    def flaky(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            ils.down = True
        return real(*a, **kw)
    ils.checkout = flaky
    report = Replayer(ils, journal).sync()
    assert report.synced == 2 and report.stopped and report.remaining == 3
    assert {r.state for r in journal.pending()} == {j.QUEUED}
    ils.down = False
    ils.checkout = real
    assert Replayer(ils, journal).sync().synced == 3
    assert sorted(t.item_id for t in ils.log) == [f"B{i}" for i in range(5)]


def test_lost_reply_during_replay_is_resolved_not_resent(world):
    ils, journal = world
    c = circ(ils, journal)
    ils.down = True
    c.checkout(P, "B5")
    ils.down = False
    ils.drop_after = {"B5"}
    first = Replayer(ils, journal).sync()
    assert first.stopped and journal.pending()[0].state == j.UNKNOWN
    second = Replayer(ils, journal).sync()
    assert second.synced == 1 and ils.happened("checkout", "B5") == 1
    assert len([c for c in ils.calls if c[:2] == ("checkout", "B5")]) == 1


def test_unacknowledged_unknown_checkout_that_happened_goes_to_staff(world):
    ils, journal = world
    c = circ(ils, journal, mode="returns")     # no offline checkouts: not acknowledged
    ils.drop_after = {"B6"}
    ils.sticky = True
    real_info = ils.item_information

    def no_answer(item_id):
        raise OutcomeUnknown("no reply to item information either")
    ils.item_information = no_answer
    out = c.checkout(P, "B6")
    assert out.state == "needs_staff" and out.reason_key == "ils_timeout" and not out.acknowledged
    ils.item_information = real_info
    ils.drop_after = set()
    report = Replayer(ils, journal).sync()
    assert report.staff == 1 and journal.staff_queue()[0].reason_key == "unconfirmed_checkout"
    assert ils.happened("checkout", "B6") == 1


def test_unacknowledged_unknown_checkout_that_did_not_happen_is_abandoned(world):
    ils, journal = world
    jid = journal.record_intent("checkout", "B7", patron_id=P)
    journal.record_outcome(jid, j.UNKNOWN)
    report = Replayer(ils, journal).sync()
    assert report.abandoned == 1 and ils.log == [] and journal.get(jid).state == j.ABANDONED


def test_acknowledged_unknown_checkin_is_sent_only_if_the_item_is_still_out(world):
    ils, journal = world
    ils.items["B8"].borrower = P
    a = journal.record_intent("checkin", "B8", state=j.UNKNOWN, acked=True, offline=True)
    b = journal.record_intent("checkin", "B9", state=j.UNKNOWN, acked=True, offline=True)   # not out
    report = Replayer(ils, journal).sync()
    assert report.synced == 2
    assert [t.item_id for t in ils.log] == ["B8"]
    assert journal.get(a).state == journal.get(b).state == j.SYNCED


def test_offline_checkout_limit_counts_journaled_checkouts(world):
    ils, journal = world
    c = circ(ils, journal, max_items_per_patron=2)
    ils.down = True
    outs = [c.checkout(P, f"B{i}") for i in range(3)]
    assert [o.reason_key for o in outs] == [None, None, "offline_limit"]
    assert outs[2].state == "refused" and not outs[2].acknowledged
    assert c.checkout(Q, "B10").acknowledged


def test_renewals_are_never_done_offline(world):
    ils, journal = world
    ils.items["B1"].borrower = P
    c = circ(ils, journal)
    ils.down = True
    out = c.renew(P, "B1")
    assert out.state == "refused" and out.reason_key == "offline_not_allowed"
    ils.down = False
    out = c.renew(P, "B1")
    assert out.acknowledged and ils.happened("renew", "B1") == 1


def test_a_queued_checkout_is_verified_before_it_is_sent(world):
    """An Ils that says "unreachable" after the library acted must not cause a double checkout."""
    ils, journal = world
    ils.lie_unavailable = {"B11"}
    c = circ(ils, journal)
    out = c.checkout(P, "B11")
    assert out.acknowledged and out.journaled            # believed offline: journaled for the patron
    assert ils.happened("checkout", "B11") == 1         # ... but it did reach the library
    report = Replayer(ils, journal).sync()
    assert report.synced == 1
    assert ils.happened("checkout", "B11") == 1 and ils.happened("renew", "B11") == 0


def test_borrower_not_reported_is_resolved_from_the_patrons_loans(world):
    ils, journal = world
    ils.report_borrower = False
    ils.drop_after = {"B12"}
    c = circ(ils, journal, mode="returns")
    out = c.checkout(P, "B12")
    assert out.acknowledged and not out.journaled        # resolved: it is among P's loans
    assert ("patron_information", P) in ils.calls
    ils.items["B13"].borrower = Q                        # someone else has it -- but nobody says who
    ils.drop_before = {"B13"}
    out = c.checkout(P, "B13")
    # "Not among P's loans" proves nothing (AU may carry titles, lists may be paged): staff, not
    # "refused: on loan to another patron" (issue 13), and never resent.
    assert out.state == "needs_staff" and out.reason_key == "check_at_desk" and not out.acknowledged
    assert journal.get(out.journal_id).state == j.STAFF
    assert ils.happened("checkout", "B13") == 0
    assert len([x for x in ils.calls if x[:2] == ("checkout", "B13")]) == 1


def test_an_offline_checkout_over_a_stale_loan_is_recorded_with_no_block(world):
    """The patron has the item (the offline checkout was promised); the old loan's return was never
    recorded.  no block = Y records the checkout anyway, as the library system is asked to."""
    ils, journal = world
    ils.items["B14"].borrower = Q                        # Item Information names Q: proof
    c = circ(ils, journal)
    ils.down = True
    assert c.checkout(P, "B14").journaled
    ils.down = False
    report = Replayer(ils, journal).sync()
    assert report.synced == 1 and ils.items["B14"].borrower == P
    assert [t.no_block for t in ils.log] == [True]


def test_an_offline_checkout_of_an_item_charged_to_nobody_known_goes_to_staff_not_resent(world):
    """Charged, the borrower not named, and not among the patron's loans: it may be the patron's own
    loan listed by title, or a stale one.  Nothing proves which: staff, nothing resent (issue 13)."""
    ils, journal = world
    ils.report_borrower = False
    ils.items["B14"].borrower = Q
    c = circ(ils, journal)
    ils.down = True
    assert c.checkout(P, "B14").journaled
    ils.down = False
    report = Replayer(ils, journal).sync()
    assert report.staff == 1 and report.synced == 0 and ils.log == []
    assert journal.staff_queue()[0].reason_key == "unconfirmed_checkout"


def test_a_return_never_overtakes_the_items_journaled_checkout(world):
    """The library is back but the journaled checkout cannot be replayed yet (its check fails):
    the return must be journaled behind it, not sent ahead (it would find nothing to return)."""
    ils, journal = world
    c = circ(ils, journal)
    ils.down = True
    assert c.checkout(P, "B15").journaled
    ils.down = False
    real_info = ils.item_information

    def flaky(item_id):
        raise OutcomeUnknown("no reply")
    ils.item_information = flaky
    out = c.checkin("B15")
    assert out.acknowledged and out.journaled                     # queued behind the checkout
    assert not [x for x in ils.calls if x[0] == "checkin"]        # nothing overtook it
    ils.item_information = real_info
    Replayer(ils, journal).sync()
    assert [(t.kind, t.item_id) for t in ils.log] == [("checkout", "B15"), ("checkin", "B15")]
    assert ils.items["B15"].borrower is None


def test_a_complete_sync_stamps_the_last_sync_metric(tmp_path):
    """/metrics and the 'queue waiting' alert read this gauge: it must move on a successful sync."""
    from kiosk.appliance.monitoring import metrics
    from kiosk.circulation.journal import Journal
    from kiosk.circulation.memory_ils import MemoryIls
    from kiosk.circulation.replay import Replayer

    metrics.set("last_sync_timestamp_seconds", 0.0)
    with Journal(tmp_path / "j.sqlite3") as journal:
        Replayer(MemoryIls(), journal).sync()
    assert metrics.get("last_sync_timestamp_seconds") > 0


def test_a_replayed_checkout_keeps_the_due_date_the_library_system_set(world):
    """The kiosk promised a due date offline; FOLIO (and any library whose loan rules win) sets its
    own at replay.  The journal must then say the library's date -- what staff read in `kiosk
    journal list/export` -- and keep the promised one in the note."""
    ils, journal = world
    ils.own_due_dates = True
    c = circ(ils, journal, default_loan_days=3)
    ils.down = True
    out = c.checkout(P, "B4")
    assert out.journaled and out.due_date is not None
    promised = journal.get(out.journal_id).due_date
    ils.down = False
    assert Replayer(ils, journal).sync().synced == 1
    row = journal.get(out.journal_id)
    real = ils.items["B4"].due
    assert real.date() != out.due_date.date()
    assert row.state == j.SYNCED and datetime.fromisoformat(row.due_date) == real
    assert row.due == real.date().isoformat()
    assert promised in (row.note or "")


def test_the_staff_journal_entry_carries_the_promised_and_the_librarys_due_date(world):
    """QA: the staff journal page showed no due date.  An offline checkout's entry has the date
    promised to the patron; once replayed, the library system's beside it (they may differ)."""
    from kiosk.screens.staff_journal import due_words
    from kiosk.staff.results import masked_entry

    ils, journal = world
    ils.own_due_dates = True
    c = circ(ils, journal, default_loan_days=3)
    ils.down = True
    out = c.checkout(P, "B4")
    promised = out.due_date.date()
    entry = masked_entry(journal.get(out.journal_id))
    assert (entry.promised_due, entry.library_due) == (promised.isoformat(), "")
    assert P not in repr(entry)                                  # the card number stays masked
    ils.down = False
    assert Replayer(ils, journal).sync().synced == 1
    entry = masked_entry(journal.get(out.journal_id))
    real = ils.items["B4"].due.date()
    assert (entry.promised_due, entry.library_due) == (promised.isoformat(), real.isoformat())
    assert due_words(entry, "en") == f"{real:%-m/%-d/%y} (promised: {promised:%-m/%-d/%y})"
    back = c.checkin("B4")                                       # a return has no due date
    assert masked_entry(journal.get(back.journal_id)).promised_due == ""


def test_an_offline_checkout_found_on_the_patrons_card_keeps_the_librarys_due_date(world):
    """Sent, no reply, Item Information unreachable: acknowledged offline with a promised date.  The
    replay finds the loan already on the patron's card: its due date is the library's, not ours."""
    ils, journal = world
    ils.drop_after = {"B6"}                # the checkout happens, its reply is lost
    ils.item_info_fails = {"B6"}           # and the kiosk cannot ask where the item is
    c = circ(ils, journal, default_loan_days=3)
    out = c.checkout(P, "B6")
    assert out.acknowledged and out.journaled and ils.items["B6"].borrower == P
    ils.item_info_fails = set()
    assert Replayer(ils, journal).sync().synced == 1
    row = journal.get(out.journal_id)
    real = ils.items["B6"].due
    assert real.date() != out.due_date.date()
    assert datetime.fromisoformat(row.due_date) == real and row.due == real.date().isoformat()


def test_kiosk_journal_list_says_the_promised_due_date_beside_the_librarys(tmp_path, capsys):
    import json

    from kiosk.cli import main

    ils = MemoryIls([MemPatron(P)], [MemItem("B1", title="T1")])
    ils.own_due_dates = True
    with Journal(tmp_path / "journal.sqlite3") as journal:
        c = circ(ils, journal, default_loan_days=3)
        ils.down = True
        promised = c.checkout(P, "B1").due_date.date().isoformat()
        ils.down = False
        Replayer(ils, journal).sync()
    (tmp_path / "kiosk.toml").write_text(f'[storage]\ndata_dir = "{tmp_path}"\n')
    assert main(["journal", "export", "--config", str(tmp_path / "kiosk.toml")]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["promised_due_date"].startswith(promised)
    assert row["due_date"].startswith(ils.items["B1"].due.date().isoformat()) and row["due_date"] != promised
    assert P not in json.dumps(row)


def _offline_returns(ils, journal, n: int) -> None:  # noqa: ANN001
    for i in range(n):
        ils.items[f"B{i}"].borrower = Q
    c = circ(ils, journal)
    ils.down = True
    assert all(c.checkin(f"B{i}").journaled for i in range(n))
    ils.down = False


def test_a_replay_commits_its_rows_outcomes_together(world, monkeypatch):
    """10,000 returns queued over a night: one commit (one fsync) per batch of outcomes, not one
    per row -- the replay's rate on a Pi-class CPU was at its 200/s target with one per row."""
    ils, journal = world
    _offline_returns(ils, journal, 12)
    commits: list[int] = []
    record = journal.record_outcomes
    monkeypatch.setattr(journal, "record_outcomes", lambda outcomes: (commits.append(len(outcomes)), record(outcomes)))
    report = Replayer(ils, journal, batch=5).sync()
    assert report.synced == 12 and report.remaining == 0
    assert commits == [5, 5, 2]                           # the batches, each in one commit
    assert journal.pending() == []


def test_a_crash_before_a_batch_s_outcomes_are_committed_resends_nothing(world, monkeypatch):
    """The process dies after the batch's returns were sent, before their outcomes were committed:
    the rows are still 'replaying', and the next replay asks the library system about each
    (Item Information: checked in) instead of sending the returns again."""
    ils, journal = world
    _offline_returns(ils, journal, 6)

    class Died(Exception):
        pass

    def die(_outcomes):  # noqa: ANN001,ANN202
        raise Died

    replayer = Replayer(ils, journal)
    monkeypatch.setattr(journal, "record_outcomes", die)
    with pytest.raises(Died):
        replayer.sync()
    monkeypatch.undo()
    assert [t.kind for t in ils.log] == ["checkin"] * 6
    assert {r.state for r in journal.pending()} == {j.REPLAYING}
    report = Replayer(ils, journal).sync()
    assert report.remaining == 0 and report.synced == 6
    assert [t.kind for t in ils.log] == ["checkin"] * 6        # nothing sent twice


def test_an_items_later_row_waits_for_its_earlier_rows_outcome_to_be_committed(world, monkeypatch):
    """A book borrowed offline and returned offline the same evening: should the process die
    with both rows sent and neither outcome committed, the next replay would resolve the checkout
    by asking the library system -- which, the return sent too, says the book is in: "never
    charged", and the checkout would be sent again (a patron charged with a book on the shelf; the
    kill -9 harness found it).  So an item's row waits for the commit of its earlier row's outcome."""
    ils, journal = world
    c = circ(ils, journal)
    ils.down = True
    assert c.checkout(P, "B2").journaled and c.checkin("B2").journaled
    ils.down = False

    class Died(Exception):
        pass

    def die(_outcomes):  # noqa: ANN001,ANN202
        raise Died

    monkeypatch.setattr(journal, "record_outcomes", die)
    with pytest.raises(Died):
        Replayer(ils, journal).sync()
    monkeypatch.undo()
    assert [(t.kind, t.item_id) for t in ils.log] == [("checkout", "B2")]    # the return waited
    report = Replayer(ils, journal).sync()
    assert report.remaining == 0 and report.staff == 0
    assert [(t.kind, t.item_id) for t in ils.log] == [("checkout", "B2"), ("checkin", "B2")]
    assert ils.items["B2"].borrower is None
