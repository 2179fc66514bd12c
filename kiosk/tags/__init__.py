"""Library RFID tag data: ISO 28560-3 (Danish model), ISO 28560-2 and the 3M layout (pure).

Public API::

    from kiosk.tags import decode_tag, encode_tag, TagData, TagDecodeError
    tag = decode_tag(data)        # detects the model; raises only TagDecodeError
    tag.model, tag.primary_item_id, tag.owner_isil, tag.parts_in_item, tag.part_number,
    tag.usage, tag.crc_ok, tag.extensions, tag.to_json()
    encode_tag("28560-3", "1000000056", isil="DK-718500", parts_in_item=2, part_number=1) -> bytes

Nothing here does I/O; the reader drivers (:mod:`kiosk.hardware`) read the bytes.
"""

from __future__ import annotations

from kiosk.tags import iso28560_2, iso28560_3, threem
from kiosk.tags.model import TagData, TagDecodeError

MODELS = (iso28560_3.MODEL, iso28560_2.MODEL, threem.MODEL)


def decode_tag(data: bytes, dsfid: int | None = None) -> TagData:
    """Decode tag user memory, detecting the data model.

    Order: an ISO 28560-3 basic block whose CRC matches; a 3M RFID501 block; an ISO 28560-2
    data stream (DSFID 0x06 when the reader reported one); and last a 28560-3 block whose CRC
    does not match but whose structure is plausible (returned with ``crc_ok=False``).
    Anything else -- including blank and random memory -- raises :class:`TagDecodeError`.
    """
    try:
        data = bytes(data)
    except (TypeError, ValueError) as exc:
        raise TagDecodeError(f"tag data must be bytes, not {type(data).__name__}") from exc
    if not data.strip(b"\x00") or not data.strip(b"\xff"):
        raise TagDecodeError("tag is blank (no library data written)")
    if dsfid == iso28560_2.DSFID:
        return iso28560_2.decode(data)
    if iso28560_3.crc_matches(data) or iso28560_3.crc_matches(iso28560_3._reverse_blocks(data)):
        return iso28560_3.decode(data)
    if data[:threem.LENGTH] == threem.BLANK or threem.looks_like(data):
        return threem.decode(data)
    errors = []
    try:
        return iso28560_2.decode(data)
    except TagDecodeError as exc:
        errors.append(str(exc))
    if iso28560_3.looks_like(data):
        return iso28560_3.decode(data)
    raise TagDecodeError("not a known library tag format (tried ISO 28560-3, 3M, ISO 28560-2: "
                         + "; ".join(errors) + ")")


def encode_tag(model: str, item_id: str, *, isil: str = "", parts_in_item: int = 1,
               part_number: int = 1) -> bytes:
    """Tag memory for ``item_id`` in ``model`` ("28560-3", "28560-2" or "3m").

    Raises only :class:`TagDecodeError` (wrong types, non-ASCII ids or ISILs, values a tag
    cannot hold), so callers and ``kiosk tag encode`` need to catch one error.
    """
    if not isinstance(isil, str):
        raise TagDecodeError(f"ISIL must be text, not {type(isil).__name__}")
    if model == iso28560_3.MODEL:
        return iso28560_3.encode(item_id, isil=isil, parts_in_item=parts_in_item,
                                 part_number=part_number)
    if model == iso28560_2.MODEL:
        return iso28560_2.encode(item_id, isil=isil, parts_in_item=parts_in_item,
                                 part_number=part_number, usage=1)
    if model == threem.MODEL:
        return threem.encode(item_id, parts_in_item=parts_in_item, part_number=part_number)
    raise TagDecodeError(f"unknown tag model {model!r}; expected one of {', '.join(MODELS)}")


__all__ = ["MODELS", "TagData", "TagDecodeError", "decode_tag", "encode_tag"]
