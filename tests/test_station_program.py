"""Staff station, tag programming: on the simulated pad and on the FEIG and 3M protocol simulators.

Every written tag is decoded again by an *independent* decoder written here from rfid-tags.md
(byte offsets, ``binascii.crc_hqx`` for the CRC-16/CCITT-FALSE) -- not by kiosk.tags, whose
encoder produced the bytes -- so an encoder and decoder that agree on a mistake cannot pass.
"""

from __future__ import annotations

import binascii

import pytest

from kiosk.hardware import threem810_protocol as tp
from kiosk.hardware.feig import FeigReader
from kiosk.hardware.feig_sim import FeigSimulator, PtyFeigReader, SimTag
from kiosk.hardware.sim import SimTagReader
from kiosk.hardware.threem810 import ThreeM810Reader
from kiosk.hardware.threem810_sim import PtyThreeM810Reader, ThreeM810Simulator
from kiosk.station.program import ItemRecord, TagSettings, classify, verify
from kiosk.station.programmer import TagProgrammer
from kiosk.station.store import FAILED, VERIFIED, StationStore
from kiosk.tags import encode_tag

ISIL = "DK-718500"


# ------------------------------------------------------------------------ independent decoders
def indep_28560_3(mem: bytes) -> dict:
    """rfid-tags.md 4.1 by hand: offsets, CRC (crc_hqx = CRC-16/CCITT poly 0x1021) LSB first."""
    crc_ok = binascii.crc_hqx(mem[0:19] + mem[21:34], 0xFFFF) == mem[19] | (mem[20] << 8)
    ext_len = mem[34]
    block = mem[34:34 + ext_len]
    xor = 0
    for b in block:
        xor ^= b
    return {"version": mem[0] >> 4, "usage": mem[0] & 0x0F, "parts": mem[1], "part": mem[2],
            "item": mem[3:19].rstrip(b"\0").decode("ascii"), "crc_ok": crc_ok,
            "isil": mem[21:34].rstrip(b"\0").decode("ascii"),
            "ext_id": block[1] | (block[2] << 8), "ext_xor_ok": xor == 0, "media_format": block[4]}


def indep_28560_2(mem: bytes) -> dict:
    """rfid-tags.md 4.2 by hand: data sets [precursor][(ext OID)][length][data], 0x00 ends."""
    out, pos = {}, 0
    while mem[pos] != 0:
        pre = mem[pos]
        oid, comp = pre & 0x0F, (pre >> 4) & 7
        pos += 1
        if oid == 15:
            oid += mem[pos]
            pos += 1
        n = mem[pos]
        data = mem[pos + 1:pos + 1 + n]
        pos += 1 + n
        out[oid] = (comp, data)
    comp, item = out[1]
    assert comp == 1                                     # integer compaction for digit ids
    result = {"item": str(int.from_bytes(item, "big")), "parts": 1, "part": 1}
    if 4 in out:                                         # set information, numeric (BCD) compaction
        digits = out[4][1].hex()
        result["parts"], result["part"] = int(digits[:2]), int(digits[2:])
    result["media_format"] = int.from_bytes(out[19][1], "big") if 19 in out else None
    result["has_isil"] = 3 in out
    return result


def indep_3m(mem: bytes) -> dict:
    """rfid-tags.md 4.4 by hand."""
    return {"marker": mem[0], "part": mem[1] >> 4, "parts": mem[1] & 0x0F, "item_type": mem[3],
            "item": mem[4:20].rstrip(b"\0").decode("ascii")}


def check_independently(model: str, mem: bytes, item: str, part: int, parts: int) -> None:
    if model == "28560-3":
        d = indep_28560_3(mem)
        assert d["crc_ok"] and d["version"] == 1 and d["usage"] == 1
        assert (d["item"], d["part"], d["parts"], d["isil"]) == (item, part, parts, "DK718500")
        assert d["ext_id"] == 1 and d["ext_xor_ok"] and d["media_format"] == 1      # library ext: book
    elif model == "28560-2":
        d = indep_28560_2(mem)
        assert (d["item"], d["part"], d["parts"], d["media_format"], d["has_isil"]) == (item, part, parts, 1, True)
    else:
        d = indep_3m(mem)
        assert (d["marker"], d["item"], d["part"], d["parts"], d["item_type"]) == (4, item, part, parts, 1)


# ------------------------------------------------------------------------ three pads
class Lib:
    """The library system as the programmer sees it (look-ups are tested against the demo library
    in test_station_inventory.py)."""

    def __init__(self, parts: int = 1) -> None:
        self.parts = parts

    def lookup(self, item_id: str) -> ItemRecord:
        return ItemRecord(item_id, title="Test", media_type="001", parts=self.parts, home_branch="MAIN")


class SimPad:
    kind = "sim"

    def __init__(self) -> None:
        self.reader = SimTagReader()

    def blank(self, locked: bool = False) -> str:
        return self.reader.place_blank(locked=locked)

    def put(self, data: bytes) -> str:
        return self.reader.place(data=data, security_on=False)

    def memory(self, uid: str) -> bytes:
        return self.reader.memory(uid)

    def clear(self) -> None:
        self.reader.clear()

    def fail_writes(self, n: int) -> None:
        self.reader.fail_writes = n

    def close(self) -> None:
        self.reader.close()


class ProtocolPad:
    """A FEIG or 3M protocol simulator on a pty, driven by the real driver."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.n = 0
        if kind == "feig":
            self.sim = FeigSimulator()
            self.pty = PtyFeigReader(self.sim).__enter__()
            self.reader = FeigReader(self.pty.port, timeout=0.5)
        else:
            self.sim = ThreeM810Simulator()
            self.pty = PtyThreeM810Reader(self.sim).__enter__()
            self.reader = ThreeM810Reader(self.pty.port, timeout=0.5)

    def _add(self, data: bytes, locked: bool = False) -> str:
        self.n += 1
        uid = f"E0040150000000{self.n:02X}"
        tag = SimTag(uid=uid, data=data, afi=0x00, eas=False, blocks=28)
        if locked:
            tag.locked = set(range(28))
        return self.sim.add(tag)

    def blank(self, locked: bool = False) -> str:
        return self._add(b"", locked)

    def put(self, data: bytes) -> str:
        return self._add(data)

    def memory(self, uid: str) -> bytes:
        return bytes(self.sim.tags[uid].data)

    def clear(self) -> None:
        for uid in list(self.sim.tags):
            self.sim.remove(uid)

    def fail_writes(self, n: int) -> None:
        self.sim.fail_writes = n

    def close(self) -> None:
        self.reader.close()
        self.pty.__exit__(None, None, None)


@pytest.fixture(scope="module", params=["sim", "feig", "3m"])
def _pads(request):
    p = SimPad() if request.param == "sim" else ProtocolPad(request.param)   # one pty per module: fast
    yield p
    p.close()


@pytest.fixture
def pad(_pads):
    _pads.clear()
    _pads.fail_writes(0)
    return _pads


@pytest.fixture
def store(tmp_path):
    s = StationStore(tmp_path / "station.sqlite")
    yield s
    s.close()


def programmer(pad, store, model="28560-3", parts=1, retries=3) -> TagProgrammer:
    return TagProgrammer(pad.reader, Lib(parts), store, TagSettings(model=model, owner_isil=ISIL),
                         staff_session="test", retries=retries)


# ------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("model", ["28560-3", "28560-2", "3m"])
def test_program_then_independent_decode_for_every_model(pad, store, model):
    prog = programmer(pad, store, model=model)
    (plan,) = prog.plans(Lib().lookup("3900000012"))
    uid = pad.blank()
    result = prog.program(plan)
    assert result.ok and result.code == "done", (result.code, result.problems, result.detail)
    check_independently(model, pad.memory(uid), "3900000012", 1, 1)
    assert pad.reader.read_security(uid) is True                         # on the shelf: secured
    assert pad.reader.read_tag(uid).item_id == "3900000012"              # and the kiosk reads it
    (rec,) = store.tags_since()
    assert (rec.uid, rec.item_id, rec.model, rec.result, rec.staff_session) == (uid, "3900000012", model,
                                                                               VERIFIED, "test")
    written = bytes.fromhex(rec.data_hex)          # the plan's bytes, padded to whole 4-byte blocks
    assert written[:len(plan.data)] == plan.data and not written[len(plan.data):].strip(b"\0")
    assert len(written) % 4 == 0 and pad.memory(uid)[:len(written)] == written


@pytest.mark.parametrize("model", ["28560-3", "28560-2", "3m"])
def test_multi_part_set_gets_one_numbered_tag_per_part(pad, store, model):
    prog = programmer(pad, store, model=model, parts=3)
    plans = prog.plans(Lib(3).lookup("3900000137"))
    assert [(p.part_number, p.parts) for p in plans] == [(1, 3), (2, 3), (3, 3)]
    uids = []
    for plan in plans:
        pad.clear()
        uids.append(pad.blank())
        assert prog.program(plan).ok
        check_independently(model, pad.memory(uids[-1]), "3900000137", plan.part_number, 3)
    assert [(r.uid, r.part_number, r.parts, r.result) for r in store.tags_since()] == \
        [(u, i + 1, 3, VERIFIED) for i, u in enumerate(uids)]


def test_staff_parts_override_and_too_many_parts_for_the_model(store):
    pad = SimPad()
    prog = programmer(pad, store, model="3m")
    assert len(prog.plans(Lib(1).lookup("1"), parts=4)) == 4
    from kiosk.station.program import PlanError
    with pytest.raises(PlanError, match="at most 15"):
        prog.plans(Lib(1).lookup("1"), parts=16)


# ------------------------------------------------------------------------ refusals
def test_no_tag_and_two_tags_are_refused_without_writing(pad, store):
    prog = programmer(pad, store)
    (plan,) = prog.plans(Lib().lookup("3900000012"))
    assert prog.program(plan).code == "no_tag"
    a, b = pad.blank(), pad.blank()
    result = prog.program(plan)
    assert result.code == "two_tags" and not result.ok
    assert pad.memory(a).strip(b"\0") == b"" and pad.memory(b).strip(b"\0") == b""
    assert store.tags_since() == []


def test_locked_tag_is_refused(pad, store):
    prog = programmer(pad, store)
    (plan,) = prog.plans(Lib().lookup("3900000012"))
    uid = pad.blank(locked=True)
    result = prog.program(plan)
    assert not result.ok and pad.memory(uid).strip(b"\0") == b""
    if pad.kind == "3m":       # the 3M 810 cannot report lock bits: every write is refused instead
        assert result.code == "write_failed" and store.tags_since()[0].result == FAILED
    else:                      # ISO 15693 block security status: refused before any write
        assert result.code == "locked" and store.tags_since() == []


def test_other_items_data_is_overwritten_only_after_confirmation(pad, store):
    prog = programmer(pad, store)
    (plan,) = prog.plans(Lib().lookup("3900000012"))
    old = encode_tag("28560-3", "1000000056", isil=ISIL)
    uid = pad.put(old)
    result = prog.program(plan)
    assert result.code == "other_item" and result.needs_confirmation and result.existing.item_id == "1000000056"
    assert pad.memory(uid)[:len(old)] == old and store.tags_since() == []      # nothing written, nothing recorded
    result = prog.program(plan, overwrite=True)
    assert result.ok
    check_independently("28560-3", pad.memory(uid), "3900000012", 1, 1)
    (rec,) = store.tags_since()
    assert rec.old_item_id == "1000000056" and bytes.fromhex(rec.old_data_hex)[:len(old)] == old
    assert "confirmed" in rec.detail or rec.result == VERIFIED


def test_barcode_only_tag_of_the_same_item_is_converted_without_asking(store):
    pad = SimPad()
    prog = programmer(pad, store)
    (plan,) = prog.plans(Lib().lookup("3900000012"))
    uid = pad.reader.place_barcode_only("3900000012")
    assert classify(pad.memory(uid)).kind == "barcode-only"
    assert prog.program(plan).ok and pad.reader.read_tag(uid).model == "28560-3"


def test_write_failure_is_retried_then_refused(pad, store):
    prog = programmer(pad, store, retries=3)
    (plan,) = prog.plans(Lib().lookup("3900000012"))
    uid = pad.blank()
    pad.fail_writes(2)                      # a tag moving on the pad: two writes get no answer
    result = prog.program(plan)
    assert result.ok and result.attempts == 3
    pad.clear()
    uid = pad.blank()
    pad.fail_writes(10)
    result = prog.program(plan)
    assert result.code == "write_failed" and not result.ok and result.attempts == 3
    assert pad.memory(uid).strip(b"\0") == b""
    assert [r.result for r in store.tags_since()] == [VERIFIED, FAILED]


def test_verification_failure_is_never_called_done(store):
    pad = SimPad()
    prog = programmer(pad, store, retries=2)
    (plan,) = prog.plans(Lib().lookup("3900000012"))
    pad.blank()
    pad.reader.corrupt_writes = 5           # the tag stores a wrong byte every time
    result = prog.program(plan)
    assert result.code == "verify_failed" and result.problems
    assert store.tags_since()[0].result == FAILED
    pad.reader.clear()
    pad.blank()
    pad.reader.corrupt_writes = 0
    pad.reader.fail_security_writes = True  # data right, but the gate alarm does not switch on
    assert prog.program(plan).code in ("verify_failed", "write_failed")


def test_verify_checks_each_field():
    from kiosk.station.program import plan_tags
    (plan,) = plan_tags(Lib().lookup("3900000012"), TagSettings(model="28560-3", owner_isil=ISIL))
    assert verify(plan, plan.data, True).ok
    assert "security" in " ".join(verify(plan, plan.data, False).problems)
    other = encode_tag("28560-3", "3900000012", isil="DK-999999")
    assert any("owner library" in p for p in verify(plan, other, True).problems)


def test_security_follows_the_items_status(store):
    class OnLoan(Lib):
        def lookup(self, item_id: str) -> ItemRecord:
            return ItemRecord(item_id, title="Test", media_type="001", circulation_status="04")

    pad = SimPad()
    prog = TagProgrammer(pad.reader, OnLoan(), store, TagSettings(owner_isil=ISIL))
    (plan,) = prog.plans(OnLoan().lookup("3900000012"))
    uid = pad.reader.place_blank(security_on=True)
    assert prog.program(plan).ok and plan.security_on is False
    assert pad.reader.read_security(uid) is False          # on loan: the gate must not alarm


class ShelfLib:
    def lookup(self, item_id: str) -> ItemRecord:
        return ItemRecord(item_id, title="T", circulation_status="03", home_branch="MAIN")

    def mark_seen(self, *_a) -> str:  # noqa: ANN002
        return "yes"


@pytest.mark.parametrize("kind", ["feig", "3m"])
def test_shelf_check_through_the_protocol_simulators(kind, store):
    from kiosk.station.inventory import ShelfRules
    from kiosk.station.shelf import ShelfCheck

    pad = ProtocolPad(kind)
    try:
        on_shelf = 0x07 if kind == "feig" else tp.AFI_SECURED
        fine = pad.put(encode_tag("28560-3", "3900000001", isil=ISIL))
        pad.sim.tags[fine].afi = on_shelf
        pad.put(encode_tag("28560-3", "3900000002", isil=ISIL))                # AFI 0: gate silent
        bare = pad.put(b"3900000003")                                           # an old conversion
        pad.sim.tags[bare].afi = on_shelf
        shelf = ShelfCheck(ShelfLib(), store, ShelfRules(branch="MAIN", model="28560-3", owner_isil=ISIL),
                           shelf="C3", reader=pad.reader)
        got = {}
        for uid in pad.reader.inventory():
            r = shelf.tag_read(pad.reader.read_tag(uid))
            got[r.item_id] = [f.code for f in r.findings]
        assert got == {"3900000001": [], "3900000002": ["security_off"], "3900000003": ["old_model"]}
    finally:
        pad.close()


def test_small_tag_gets_the_truncated_basic_block_and_a_tiny_one_is_refused(store):
    pad = SimPad()
    prog = programmer(pad, store)
    (plan,) = prog.plans(Lib().lookup("3900000012"))
    assert len(plan.data) > 32                       # basic block + library extension block
    uid = pad.reader.place_blank(blocks=8)           # a 32-byte tag
    result = prog.program(plan)
    assert result.ok, (result.code, result.problems)
    mem = pad.memory(uid)
    assert len(mem) == 32
    # rfid-tags.md 4.1: a 32-byte truncated block, CRC computed as if bytes 32-33 were 0x00
    assert binascii.crc_hqx(mem[0:19] + mem[21:32] + b"\0\0", 0xFFFF) == mem[19] | (mem[20] << 8)
    assert (mem[1], mem[2], mem[3:19].rstrip(b"\0"), mem[21:32].rstrip(b"\0")) == (1, 1, b"3900000012", b"DK718500")
    assert pad.reader.read_tag(uid).item_id == "3900000012"
    pad.clear()
    tiny = pad.reader.place_blank(blocks=4)
    result = prog.program(plan)
    assert result.code == "too_small" and not pad.memory(tiny).strip(b"\0")


def test_feig_writes_block_by_block(store):
    """ICODE SLIX tags do not implement Write Multiple Blocks: the FEIG driver sends Write Single
    Block (B0 21) for each block, byte order reversed on the wire like reads."""
    from kiosk.hardware import feig_protocol as fp

    req = fp.write_single_request("E004010000000001", 3, bytes([1, 2, 3, 4]))
    assert req == bytes([0x21, 0x01]) + bytes.fromhex("E004010000000001") + bytes([3, 4, 4, 3, 2, 1])
    pad = ProtocolPad("feig")
    try:
        prog = programmer(pad, store)
        (plan,) = prog.plans(Lib().lookup("3900000012"))
        pad.blank()
        assert prog.program(plan).ok
        subs = [fp.decode_request(f).data[0] for f in pad.sim.requests if fp.decode_request(f).cmd == fp.CMD_ISO]
        assert fp.ISO_WRITE_MULTIPLE not in subs and subs.count(fp.ISO_WRITE_SINGLE) == (len(plan.data) + 3) // 4
    finally:
        pad.close()
