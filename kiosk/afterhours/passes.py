"""What one pass of the slot held: its tags grouped into items, before anything is written (pure).

A *pass* is one interruption of the light barrier (:mod:`kiosk.afterhours.slot`); the tags read
for it may belong to one item, several items, the parts of a multi-part set, another library's
item, or to nothing readable at all.  The controller (:mod:`kiosk.afterhours.bookdrop`) classifies
a committed pass with :func:`classify_pass` and then writes each item durably.  Apart from both
because it is a pure rule about tags and items, tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.afterhours import slot as S


@dataclass(frozen=True)
class Classified:
    """One item of a pass, before it is written: ``state`` is journaled / unreadable / not_ours."""

    state: str
    item_id: str | None
    uid: str
    parts: str = ""
    reason_key: str | None = None
    reason_text: str = ""


def classify_pass(tags: tuple[Any, ...], own_isils: frozenset[str]) -> list[Classified]:
    """Group a pass's tags into items (pure).

    Tags with the same item id are one item (a multi-part set; missing parts are noted, the set is
    still checked in and staff look at it).  A tag without item data is an unreadable item of its
    own; a pass with no tag at all is one unreadable item.  A tag whose owner library (ISIL) is not
    one of ``own_isils`` (when configured) is not ours.
    """
    if not tags:
        return [Classified(S.UNREADABLE, None, "", reason_key="no_tag",
                           reason_text="an item passed the slot but no tag was read")]
    out: list[Classified] = []
    by_item: dict[str, list[Any]] = {}
    for t in tags:
        if t.item_id is None:
            out.append(Classified(S.UNREADABLE, None, t.uid, reason_key="unreadable_tag",
                                  reason_text=t.error or "tag data could not be decoded"))
        else:
            by_item.setdefault(t.item_id, []).append(t)
    for item_id, group in by_item.items():
        uids = ",".join(sorted(t.uid for t in group))
        owners = {t.owner_isil for t in group if t.owner_isil}
        if own_isils and owners and not owners & own_isils:
            out.append(Classified(S.NOT_OURS, item_id, uids, reason_key="not_ours",
                                  reason_text=f"tag owner {', '.join(sorted(owners))}"))
            continue
        wanted = max(t.parts_in_item or 1 for t in group)
        seen = len({t.part_number for t in group})
        parts = f"{seen}/{wanted}" if seen < wanted else ""
        out.append(Classified(S.JOURNALED, item_id, uids, parts=parts,
                              reason_key="missing_parts" if parts else None))
    return out
