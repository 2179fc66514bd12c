"""Tag programming, the pure part: what to write for an item, what a tag holds, does it match.

Nothing here does I/O.  :func:`plan_tags` turns an item as the library system describes it and the
station's ``[tags]`` settings into one :class:`TagPlan` per part (a three-disc audiobook gets three
tags, numbered 1/3, 2/3, 3/3); :func:`classify` says what is on a tag already (blank, a bare
barcode, library data for this or another item, unreadable); :func:`verify` compares what was
read back with the plan, field by field, so "done" is only said for a tag that decodes to exactly
the item, set and owner intended and whose security is on.

Media format (ISO 28560-1 "media format", written in the ISO 28560-3 library extension block and
as ISO 28560-2 relative OID 19) is derived from the SIP2 media type (CK) unless ``[tags]
media_format`` sets a number: 1 book, 2 CD/DVD, 3 magnetic tape, 0 undefined.  The rest of the
standard's list is not mapped (the codes we could not verify are left "undefined" rather than guessed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from kiosk.tags import TagData, TagDecodeError, decode_tag, encode_tag, iso28560_2, iso28560_3, threem
from kiosk.tags.model import isil_stored

MODELS = (iso28560_3.MODEL, iso28560_2.MODEL, threem.MODEL)
DSFID = {iso28560_3.MODEL: 0x3E, iso28560_2.MODEL: iso28560_2.DSFID}   # rfid-tags.md 4.2
ON_LOAN = ("04", "05")      # SIP2 circulation status "charged" (sip2.md 1.5)
MAX_PARTS = {iso28560_3.MODEL: 255, iso28560_2.MODEL: 99, threem.MODEL: 15}

# SIP2 media type CK (sip2.md 1.5) -> ISO 28560-1 media format; 0 = undefined.
MEDIA_FORMAT_FROM_SIP = {"001": 1, "002": 1, "003": 1, "008": 1, "009": 1, "010": 1,
                         "006": 2, "004": 3, "005": 3}
# SIP2 media type CK -> 3M item type (byte 3 of RFID501: 0 other, 1 book, 2 magazine).
THREEM_ITEM_TYPE = {"001": 1, "002": 2, "003": 2}

_PARTS_RE = re.compile(r"(\d{1,3})\s*(?:parts|pieces|Teile|pièces|partes|volumes|discs)\b", re.I)


class PlanError(ValueError):
    """The item cannot be put on tags as asked (too many parts for the model, bad item id)."""


@dataclass(frozen=True)
class ItemRecord:
    """An item as the library system describes it, for the station (librarian's words).

    ``parts`` is the number of physical pieces (tags) when the library system says so (some send
    it as an AF note like "3 parts"), else 1.  ``circulation_status`` is the SIP2 two-digit code.
    """

    item_id: str
    known: bool = True
    title: str = ""
    media_type: str = ""              # SIP2 CK code, e.g. "001" book
    parts: int = 1
    home_branch: str = ""
    permanent_location: str = ""
    circulation_status: str = ""
    hold_queue_length: int = 0
    borrower: str = ""                # present only when the library system tells (never shown)
    screen_message: str = ""


def parts_from_text(*texts: str) -> int | None:
    """Parts of a set from free text the library system sent ("3 parts", "2 Teile")."""
    for text in texts:
        m = _PARTS_RE.search(text or "")
        if m and 1 <= int(m.group(1)) <= 255:
            return int(m.group(1))
    return None


@dataclass(frozen=True)
class TagSettings:
    """The ``[tags]`` settings that shape what is written."""

    model: str = iso28560_3.MODEL
    owner_isil: str = ""
    media_format: str = "auto"        # "auto" (from the media type) or a number 0-255


@dataclass(frozen=True)
class TagPlan:
    """What one tag of an item must hold after programming."""

    item_id: str
    model: str
    part_number: int
    parts: int
    owner_isil: str
    media_format: int | None
    data: bytes
    dsfid: int | None
    security_on: bool = True          # on the shelf: the gate alarms

    @property
    def label(self) -> str:
        return f"{self.item_id} part {self.part_number}/{self.parts}" if self.parts > 1 else self.item_id


def media_format_for(item: ItemRecord, settings: TagSettings) -> int:
    if str(settings.media_format).strip().lower() not in ("", "auto"):
        try:
            value = int(str(settings.media_format), 0)
        except ValueError as exc:
            raise PlanError(f"[tags] media_format {settings.media_format!r} is not a number or 'auto'") from exc
        if not 0 <= value <= 255:
            raise PlanError(f"[tags] media_format {value} does not fit in one byte")
        return value
    return MEDIA_FORMAT_FROM_SIP.get(item.media_type.strip(), 0)


def encode_for(item_id: str, model: str, *, owner_isil: str, parts: int, part_number: int,
               media_format: int, item_type: int = 1) -> bytes:
    """Tag memory for one part in ``model``, with the media format where the model has one."""
    if model == iso28560_3.MODEL:
        return iso28560_3.encode(item_id, isil=owner_isil, parts_in_item=parts, part_number=part_number,
                                 usage=1, extensions=((iso28560_3.EXT_LIBRARY, bytes([media_format])),))
    if model == iso28560_2.MODEL:
        stream = encode_tag(model, item_id, isil=owner_isil, parts_in_item=parts, part_number=part_number)
        return stream[:-1] + iso28560_2._data_set(19, 1, bytes([media_format])) + b"\x00"
    if model == threem.MODEL:
        return threem.encode(item_id, parts_in_item=parts, part_number=part_number, item_type=item_type)
    raise PlanError(f"unknown tag model {model!r}; expected one of {', '.join(MODELS)}")


def plan_tags(item: ItemRecord, settings: TagSettings, *, parts: int | None = None,
              model: str | None = None) -> list[TagPlan]:
    """One plan per part of ``item``: ``parts`` (staff's count) wins over the library system's."""
    model = model or settings.model
    if model not in MODELS:
        raise PlanError(f"unknown tag model {model!r}; expected one of {', '.join(MODELS)}")
    total = parts if parts is not None else max(1, item.parts)
    if not 1 <= total <= MAX_PARTS[model]:
        raise PlanError(f"{total} parts do not fit the {model} data model (at most {MAX_PARTS[model]})")
    fmt = media_format_for(item, settings)
    isil = settings.owner_isil if model != threem.MODEL else ""
    # Security follows the item's status: on the shelf it must alarm; an item the library system
    # has on loan (being tagged at the desk before it goes back out) must not.
    secured = item.circulation_status.strip() not in ON_LOAN
    plans = []
    for part in range(1, total + 1):
        try:
            data = encode_for(item.item_id, model, owner_isil=isil, parts=total, part_number=part,
                              media_format=fmt, item_type=THREEM_ITEM_TYPE.get(item.media_type.strip(), 0))
        except TagDecodeError as exc:
            raise PlanError(str(exc)) from exc
        plans.append(TagPlan(item_id=item.item_id, model=model, part_number=part, parts=total,
                             owner_isil=isil, media_format=fmt if model != threem.MODEL else None,
                             data=data, dsfid=DSFID.get(model), security_on=secured))
    return plans


def fit_to(plan: TagPlan, capacity: int) -> TagPlan | None:
    """The plan for a tag of ``capacity`` bytes, or None when it cannot fit.

    ISO 28560-3 allows a 32-byte truncated basic block on small tags (rfid-tags.md 4.1): the
    extension blocks (media format) are left out and the ISIL must fit bytes 21-31 (11 characters
    as stored); the CRC is computed as if bytes 32-33 were 0, which they are for such an ISIL.
    """
    if len(plan.data) <= capacity:
        return plan
    if plan.model != iso28560_3.MODEL or capacity < 32 or len(isil_stored(plan.owner_isil)) > 11:
        return None
    basic = iso28560_3.encode(plan.item_id, isil=plan.owner_isil, parts_in_item=plan.parts,
                              part_number=plan.part_number, usage=1)[:32]
    return replace(plan, data=basic, media_format=None)


# ------------------------------------------------------------------------------ what is on a tag
BLANK, BARCODE_ONLY, LIBRARY, UNREADABLE = "blank", "barcode-only", "library", "unreadable"


@dataclass(frozen=True)
class Existing:
    """What a tag held before programming.

    ``kind``: ``blank`` (never programmed: zeros, 0xFF or the 3M factory pattern), ``barcode-only``
    (plain ASCII digits/letters from an older conversion), ``library`` (a data model decoded;
    ``tag`` says what), ``unreadable`` (data that is none of these; ``error`` says why).
    """

    kind: str
    item_id: str | None = None
    tag: TagData | None = None
    error: str = ""

    def holds_other_item(self, item_id: str) -> bool:
        return self.kind in (LIBRARY, BARCODE_ONLY) and bool(self.item_id) and self.item_id != item_id


_BARCODE_ONLY = re.compile(rb"^([0-9A-Za-z\-]{4,32})\x00*$")


def classify(data: bytes, dsfid: int | None = None) -> Existing:
    """Say what ``data`` (a tag's user memory) holds; never raises."""
    data = bytes(data)
    if not data.strip(b"\x00") or not data.strip(b"\xff") or data[:threem.LENGTH] == threem.BLANK:
        return Existing(BLANK)
    m = _BARCODE_ONLY.match(data.rstrip(b"\xff"))
    if m:
        return Existing(BARCODE_ONLY, item_id=m.group(1).decode("ascii"))
    try:
        tag = decode_tag(data, dsfid=dsfid if dsfid in (iso28560_2.DSFID,) else None)
    except TagDecodeError as exc:
        return Existing(UNREADABLE, error=str(exc))
    if tag.crc_ok is False:
        return Existing(UNREADABLE, item_id=tag.primary_item_id, tag=tag,
                        error="tag data failed its CRC check (damaged or badly written tag)")
    return Existing(LIBRARY, item_id=tag.primary_item_id, tag=tag)


# ------------------------------------------------------------------------------ verification
@dataclass(frozen=True)
class Verification:
    ok: bool
    problems: tuple[str, ...] = ()
    decoded: dict = field(default_factory=dict)


def _media_format_of(tag: TagData) -> int | None:
    for ext in tag.extensions:
        if ext.get("name") == "library" and "media_format" in ext:
            return int(ext["media_format"])
        if ext.get("oid") == 19:
            try:
                return int(ext.get("value", ""))
            except ValueError:
                return None
    return None


def verify(plan: TagPlan, data: bytes, security_on: bool | None) -> Verification:
    """Compare a read-back with the plan: the bytes, every decoded field, and the security state."""
    problems: list[str] = []
    written = bytes(data[:len(plan.data)])
    if written != plan.data:
        problems.append("the tag memory read back differs from what was written")
    try:
        tag = decode_tag(data, dsfid=plan.dsfid if plan.model == iso28560_2.MODEL else None)
    except TagDecodeError as exc:
        return Verification(False, (*problems, f"the tag does not decode: {exc}"))
    checks = [("data model", tag.model, plan.model), ("item id", tag.primary_item_id, plan.item_id),
              ("parts in the set", tag.parts_in_item, plan.parts), ("part number", tag.part_number, plan.part_number)]
    if plan.model != threem.MODEL:
        checks.append(("owner library", isil_stored(tag.owner_isil or ""), isil_stored(plan.owner_isil)))
        checks.append(("media format", _media_format_of(tag), plan.media_format))
    if tag.crc_ok is False:
        problems.append("the CRC does not match")
    for name, got, want in checks:
        if got != want:
            problems.append(f"{name} reads {got!r}, expected {want!r}")
    if security_on is not plan.security_on:
        problems.append("security (gate alarm) is " + ("off" if not security_on else "on")
                        + (", expected on" if plan.security_on else ", expected off"))
    decoded = tag.to_json()
    decoded["security_on"] = security_on
    return Verification(not problems, tuple(problems), decoded)
