"""Shelf check (inventory), the pure part: which items found on a shelf need action, and why.

A shelf check is only useful if it is quiet about the thousands of items that are fine and loud
about the few that are not.  :func:`findings_for` takes what the library system says about an item
(:class:`~kiosk.station.program.ItemRecord`) and what its tag said (:class:`TagState`) and returns
only the exceptions, each with the action staff take:

========================  ==============================================  =================
finding                   when                                            action
========================  ==============================================  =================
``not_in_library``        the library system does not know the barcode    ``catalogue``
``checked_out``           on loan (SIP2 04/05) but on the shelf           ``check_in``
``lost`` / ``missing``    SIP2 12 / 13: it has turned up                  ``check_in``
``claimed_returned``      SIP2 11: the patron was right                   ``check_in``
``withdrawn``             withdrawn/discarded, yet on the shelf           ``remove``
``in_transit``            SIP2 10: should be on its way elsewhere         ``check_in``
``hold_waiting``          SIP2 08: belongs on the hold shelf              ``pull_hold``
``hold_requested``        available but a patron's hold is queued         ``pull_hold``
``other_branch``          home branch is not this station's branch        ``transfer``
``security_off``          the tag's gate alarm is off on the shelf        ``secure``
``tag_unreadable``        tag data damaged or in no known data model      ``reprogram``
``old_model``             barcode-only tag, another data model or owner   ``reprogram``
========================  ==============================================  =================

SIP2 has no "withdrawn" status: Evergreen and others answer 01 "other" for it, so 01 together
with a screen message naming it (withdrawn, discarded) is read as withdrawn (Evergreen
``OpenILS/SIP/Item.pm`` ``sip_circulation_status``; the demo library sends "Withdrawn").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kiosk.station.program import ItemRecord
from kiosk.tags.model import isil_stored

CHECK_IN, CATALOGUE, REMOVE, PULL_HOLD, TRANSFER, SECURE, REPROGRAM = (
    "check_in", "catalogue", "remove", "pull_hold", "transfer", "secure", "reprogram")

# English texts for logs, the CLI and the reports; the staff screens translate by code.
TEXTS = {
    "not_in_library": "Not in the library system: catalogue it or set it aside",
    "checked_out": "Checked out but on the shelf: check it in",
    "lost": "Marked lost and found on the shelf: check it in",
    "missing": "Marked missing and found on the shelf: check it in",
    "claimed_returned": "Claimed returned and found on the shelf: check it in",
    "withdrawn": "Withdrawn but on the shelf: take it off the shelf",
    "in_transit": "In transit but on this shelf: check it in",
    "hold_waiting": "A hold is waiting for it: put it on the hold shelf",
    "hold_requested": "A patron has a hold on it: pull it and check it in",
    "other_branch": "Belongs to another branch: send it there",
    "security_off": "Security is off: secure the tag",
    "tag_unreadable": "Tag data unreadable: reprogram the tag",
    "old_model": "Tag in an old data model: reprogram the tag",
}
ACTIONS = {
    "not_in_library": CATALOGUE, "checked_out": CHECK_IN, "lost": CHECK_IN, "missing": CHECK_IN,
    "claimed_returned": CHECK_IN, "withdrawn": REMOVE, "in_transit": CHECK_IN, "hold_waiting": PULL_HOLD,
    "hold_requested": PULL_HOLD, "other_branch": TRANSFER, "security_off": SECURE,
    "tag_unreadable": REPROGRAM, "old_model": REPROGRAM,
}
_STATUS_FINDINGS = {"04": "checked_out", "05": "checked_out", "07": "checked_out", "12": "lost", "13": "missing",
                    "11": "claimed_returned", "10": "in_transit", "08": "hold_waiting"}
_WITHDRAWN = re.compile(r"withdrawn|discard|weeded|ausgeschieden|retirado|désherbé|retiré", re.I)


@dataclass(frozen=True)
class TagState:
    """What the pad read from an item's tag (None fields: not known, e.g. a scanned barcode)."""

    uid: str = ""
    model: str | None = None
    owner_isil: str | None = None
    security_on: bool | None = None
    error: str = ""
    barcode_only: bool = False
    parts_in_item: int = 1
    part_number: int = 1


@dataclass(frozen=True)
class ShelfRules:
    """What this station expects of an item that is fine: its branch and the tag model in use."""

    branch: str = ""
    model: str = ""
    owner_isil: str = ""


@dataclass(frozen=True)
class Finding:
    code: str
    action: str
    text: str
    detail: str = ""

    def to_json(self) -> dict:
        out = {"code": self.code, "action": self.action, "text": self.text}
        if self.detail:
            out["detail"] = self.detail
        return out


def finding(code: str, detail: str = "") -> Finding:
    return Finding(code, ACTIONS[code], TEXTS[code], detail)


def _branch_of(item: ItemRecord) -> str:
    return (item.home_branch or item.permanent_location.split(" ", 1)[0]).strip()


def findings_for(item: ItemRecord | None, tag: TagState | None, rules: ShelfRules) -> list[Finding]:
    """Every exception for one item found on the shelf (empty: nothing to do)."""
    out: list[Finding] = []
    if item is not None and not item.known:
        out.append(finding("not_in_library"))
    elif item is not None:
        status = item.circulation_status.strip()
        code = _STATUS_FINDINGS.get(status)
        if code:
            out.append(finding(code, f"SIP2 circulation status {status}"))
        elif status == "01" and _WITHDRAWN.search(item.screen_message or ""):
            out.append(finding("withdrawn", item.screen_message))
        elif status == "03" and item.hold_queue_length > 0:
            out.append(finding("hold_requested", f"{item.hold_queue_length} in the hold queue"))
        branch = _branch_of(item)
        if rules.branch and branch and branch.upper() != rules.branch.upper():
            out.append(finding("other_branch", branch))
    if tag is not None:
        if tag.error and not tag.barcode_only:
            out.append(finding("tag_unreadable", tag.error))
        elif tag.barcode_only:
            out.append(finding("old_model", "the tag holds only a barcode"))
        elif rules.model and tag.model and tag.model != rules.model:
            out.append(finding("old_model", f"{tag.model}, this library writes {rules.model}"))
        elif (rules.owner_isil and tag.model and tag.model != "3m"
              and isil_stored(tag.owner_isil or "") != isil_stored(rules.owner_isil)):
            out.append(finding("old_model", f"owner {tag.owner_isil or 'missing'}, expected {rules.owner_isil}"))
        if tag.security_on is False and not (item is not None and item.circulation_status.strip() in ("04", "05")):
            out.append(finding("security_off"))
    return out
