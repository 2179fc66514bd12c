"""The return slot's pure state machine (kiosk.afterhours.slot) and pass classification."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.afterhours import commands as C
from kiosk.afterhours import slot as S
from kiosk.afterhours.passes import classify_pass
from kiosk.afterhours.slot import DropLine, SlotMachine, SlotSettings, pass_complete
from kiosk.hardware.records import TagRead

CFG = SlotSettings(lock_open_s=8, read_window_s=1.5, jam_s=15, feedback_s=3, checkin_wait_s=3, bin_capacity=3)


def kinds(cmds, kind):
    return [c for c in cmds if isinstance(c, kind)]


def ready_machine(cfg=CFG) -> SlotMachine:
    m = SlotMachine(cfg)
    cmds = m.set_mode(True, 0.0)
    assert m.state == S.READY and kinds(cmds, C.Lock)
    return m


def line(drop_id, pass_id, state=S.JOURNALED, item="X1"):
    return DropLine(drop_id, item, datetime(2026, 11, 29, 22), state, pass_id=pass_id)


def test_staffed_mode_keeps_the_hatch_locked_and_ignores_open_requests():
    m = SlotMachine(CFG)
    assert m.state == S.IDLE
    assert m.request_open(1.0) == []
    m.set_mode(True, 2.0)
    m.request_open(3.0)
    assert m.door_unlocked(4.0)
    cmds = m.set_mode(False, 5.0)
    assert kinds(cmds, C.Lock) and m.state == S.IDLE and not m.door_unlocked(5.0)


def test_hatch_opens_on_request_and_locks_on_timeout():
    m = ready_machine()
    cmds = m.request_open(10.0)
    assert kinds(cmds, C.Unlock) == [C.Unlock(8)] and m.state == S.DOOR_OPEN
    assert m.seconds_left(12.0) == 6
    assert m.tick(17.9) == [] and m.state == S.DOOR_OPEN
    cmds = m.tick(18.0)
    assert kinds(cmds, C.Lock) and m.state == S.READY


def test_item_with_tag_is_committed_then_accepted_after_journal_and_checkin():
    m = ready_machine()
    m.request_open(10.0)
    m.slot_blocked(11.0)
    assert m.state == S.READING
    tag = TagRead("E0041", "30001")
    assert m.tag_seen(tag, 11.1) == []                       # still in the beam
    cmds = m.slot_cleared(11.2)                              # complete: commit at once
    commit = kinds(cmds, C.CommitPass)
    assert commit == [C.CommitPass(1, 11.0, (tag,))]         # dropped at the moment the beam broke
    assert m.state == S.READING                              # nothing said before the journal
    cmds = m.pass_recorded(1, [line(7, 1)], 11.3)
    assert not kinds(cmds, C.Beep) and m.state == S.READING  # journaled, waiting for the library
    cmds = m.line_update(line(7, 1, S.CHECKED_IN), 11.4)
    assert kinds(cmds, C.Beep) == [C.Beep("ok")] and m.state == S.ACCEPTED
    assert m.message_key == "item_accepted"
    assert kinds(cmds, C.Unlock)                             # the hatch window restarts per item
    m.tick(14.5)
    assert m.state == S.DOOR_OPEN


def test_library_silent_means_accepted_offline_after_the_wait():
    m = ready_machine()
    m.slot_blocked(1.0)
    m.tag_seen(TagRead("U1", "30001"), 1.1)
    m.slot_cleared(1.2)
    m.pass_recorded(1, [line(1, 1)], 1.3)
    assert m.tick(4.2) == [] and m.state == S.READING
    cmds = m.tick(4.3)
    assert kinds(cmds, C.Beep) == [C.Beep("ok")] and m.message_key == "item_accepted_offline"
    assert m.lines[0].state == S.QUEUED


def test_pass_without_tag_waits_for_the_read_window_then_is_reported():
    m = ready_machine()
    m.slot_blocked(1.0)
    assert m.slot_cleared(1.1) == []
    assert m.tick(2.5) == []
    cmds = m.tick(2.6)
    assert kinds(cmds, C.CommitPass) == [C.CommitPass(1, 1.0, ())]
    cmds = m.pass_recorded(1, [line(1, 1, S.UNREADABLE, None)], 2.7)
    assert kinds(cmds, C.Beep) == [C.Beep("error")] and m.state == S.REFUSED
    assert m.message_key == "item_unreadable"


def test_late_tag_within_the_window_belongs_to_the_pass():
    m = ready_machine()
    m.slot_blocked(1.0)
    m.slot_cleared(1.1)
    cmds = m.tag_seen(TagRead("U1", "30001"), 2.0)
    assert kinds(cmds, C.CommitPass)[0].tags[0].item_id == "30001"


def test_tag_just_before_the_beam_counts_but_bin_tags_do_not():
    m = ready_machine()
    m.tag_seen(TagRead("OLD", "29999"), 1.0)                 # lying in the bin, long ago
    m.tag_seen(TagRead("NEW", "30001"), 9.5)                 # at the mouth of the slot
    m.slot_blocked(10.0)
    cmds = m.slot_cleared(10.1)
    assert [t.uid for t in kinds(cmds, C.CommitPass)[0].tags] == ["NEW"]


def test_multipart_set_waits_for_all_parts_or_the_window():
    m = ready_machine()
    m.slot_blocked(1.0)
    m.tag_seen(TagRead("A", "S1", parts_in_item=2, part_number=1), 1.05)
    assert m.slot_cleared(1.1) == []                         # part 2 not seen yet
    cmds = m.tag_seen(TagRead("B", "S1", parts_in_item=2, part_number=2), 1.3)
    assert len(kinds(cmds, C.CommitPass)[0].tags) == 2


def test_next_item_closes_the_previous_pass():
    m = ready_machine()
    m.slot_blocked(1.0)
    m.slot_cleared(1.1)
    cmds = m.slot_blocked(1.2)
    assert kinds(cmds, C.CommitPass) == [C.CommitPass(1, 1.0, ())]
    m.tag_seen(TagRead("U2", "30002"), 1.25)
    cmds = m.slot_cleared(1.3)
    assert kinds(cmds, C.CommitPass)[0].pass_id == 2


def test_jam_is_a_fault_that_locks_and_alerts_and_clears_when_the_beam_does():
    m = ready_machine()
    m.request_open(0.5)
    m.slot_blocked(1.0)
    cmds = m.tick(16.0)
    assert kinds(cmds, C.Lock) and kinds(cmds, C.StaffAlert)[0].detail == "slot_jammed"
    assert m.state == S.FAULT and not m.door_unlocked(16.0)
    assert m.request_open(17.0) == []                        # no unlock while faulted
    m.slot_cleared(20.0)
    m.tick(21.6)                                             # pass committed after its window
    m.pass_recorded(1, [line(1, 1, S.UNREADABLE, None)], 21.7)
    assert m.fault is None and m.state == S.REFUSED         # the beam cleared: no longer jammed
    m.tick(25.0)
    assert m.state == S.READY


def test_any_fault_locks_immediately():
    m = ready_machine()
    m.request_open(1.0)
    cmds = m.set_fault("hardware: tag reader gone", 2.0)
    assert kinds(cmds, C.Lock) and m.state == S.FAULT and m.message_key == "out_of_order"
    m.reset_fault(3.0)
    assert m.state == S.READY


def test_bin_count_reaches_capacity_stops_accepting():
    m = ready_machine()
    for i in range(1, 4):
        m.request_open(i * 10.0)
        m.slot_blocked(i * 10.0 + 1)
        m.tag_seen(TagRead(f"U{i}", f"3000{i}"), i * 10.0 + 1.1)
        m.slot_cleared(i * 10.0 + 1.2)
        cmds = m.pass_recorded(i, [line(i, i, S.QUEUED)], i * 10.0 + 1.3)
    assert m.bin_full and kinds(cmds, C.StaffAlert)[0].kind == "bin_full"
    assert kinds(cmds, C.Lock)
    m.tick(40.0)
    assert m.state == S.BIN_FULL and m.message_key == "bin_full"
    assert m.request_open(41.0) == []
    m.bin_emptied(50.0)
    assert m.state == S.READY and m.request_open(51.0)


def test_bin_sensor_stops_accepting_and_duplicates_do_not_count():
    m = ready_machine(SlotSettings(bin_capacity=0))
    m.slot_blocked(1.0)
    m.tag_seen(TagRead("U1", "30001"), 1.05)
    m.slot_cleared(1.1)
    m.pass_recorded(1, [line(1, 1, S.DUPLICATE)], 1.2)
    assert m.bin_count == 0
    cmds = m.bin_sensor(True, 2.0)
    assert m.state in (S.BIN_FULL, S.ACCEPTED) and kinds(cmds, C.Lock)
    m.tick(10.0)
    assert m.state == S.BIN_FULL
    m.bin_sensor(False, 11.0)
    assert m.state == S.READY


def test_offline_policy_none_closes_the_slot_while_offline():
    m = ready_machine(SlotSettings(accept_offline=False))
    m.set_online(False, 1.0)
    assert m.state == S.OFFLINE_CLOSED and m.request_open(2.0) == []
    m.set_online(True, 3.0)
    assert m.state == S.READY


@pytest.mark.parametrize("tags, expected", [
    ((), [(S.UNREADABLE, None, "")]),
    ((TagRead("A", None, error="CRC mismatch"),), [(S.UNREADABLE, None, "")]),
    ((TagRead("A", "1"), TagRead("B", "2")), [(S.JOURNALED, "1", ""), (S.JOURNALED, "2", "")]),
    ((TagRead("A", "S", parts_in_item=3, part_number=1), TagRead("B", "S", parts_in_item=3, part_number=3)),
     [(S.JOURNALED, "S", "2/3")]),
    ((TagRead("A", "9", owner_isil="DE-99"),), [(S.NOT_OURS, "9", "")]),
    ((TagRead("A", "9", owner_isil="DE-1"),), [(S.JOURNALED, "9", "")]),
])
def test_classify_pass(tags, expected):
    got = [(c.state, c.item_id, c.parts) for c in classify_pass(tags, frozenset({"DE-1"}))]
    assert got == expected


def test_pass_complete():
    assert not pass_complete([])
    assert pass_complete([TagRead("A", None)])
    assert not pass_complete([TagRead("A", "S", parts_in_item=2)])


def test_every_message_key_the_machine_uses_has_a_text():
    import re
    from pathlib import Path

    from kiosk.afterhours.messages import MESSAGES

    source = Path(S.__file__).read_text()
    used = set(re.findall(r'message_key = [A-Z_]+, "([a-z_]+)"', source))
    used |= set(re.findall(r'"(item_[a-z_]+)"', source))
    used |= set(re.findall(r'self.message_key = "([a-z_]+)"', source))
    assert used and used <= set(MESSAGES), used - set(MESSAGES)


def test_hatch_window_ends_with_a_lock_even_while_an_item_is_being_checked():
    m = ready_machine()
    m.request_open(0.0)
    m.slot_blocked(7.0)
    m.tag_seen(TagRead("U1", "30001"), 7.1)
    m.slot_cleared(7.2)
    m.pass_recorded(1, [line(1, 1)], 7.3)                   # waiting for the library system
    cmds = m.tick(8.0)
    assert m.state == S.READING and kinds(cmds, C.Lock) and not m.door_unlocked(8.0)
