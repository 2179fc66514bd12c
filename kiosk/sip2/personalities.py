"""How real library systems' SIP2 servers shape their replies: the "personalities" of the test double.

Each entry cites the public source (server code or vendor documentation) it follows; FakeAcs
(kiosk.sip2.testing) plays one with ``personality=NAME``, so the engine's outcome rules are tested
against Koha, Evergreen, Sierra, Symphony and FOLIO edge-sip2 rather than against our own twins.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Personality:
    """How one library system's SIP2 server shapes the replies the kiosk must settle outcomes from.

    ``borrower_in_18``: Item Information (18) names the borrower in AA (not standard SIP2).
    ``au``: what Patron Information (64) lists as charged items: "barcode" or "title".
    ``au_page``: how many AU entries come without BP/BQ (None: all).
    ``already_in``: the check-in reply for an item that is not on loan: "af" (ok=0 and the AF text
    ``already_in_text``), "bare" (ok=0, no alert, no AF, AQ empty), "ok" (ok=1, nothing else).
    """

    name: str
    borrower_in_18: bool = False
    au: str = "barcode"
    au_page: int | None = None
    already_in: str = "af"
    already_in_text: str = "Item not checked out"


PERSONALITIES: dict[str, Personality] = {
    # Koha (Koha-Community/Koha): 18 has no borrower field -- C4/SIP/Sip/MsgType.pm
    # handle_item_information writes circulation status, AB, AJ, AQ, AP, AH... and no AA; 64 lists
    # item barcodes in AU (C4/SIP/ILS/Patron.pm charged_items/x_items: all items unless BP/BQ);
    # a check-in of an item not on loan is ok=0 with AF "Item not checked out" (C4/SIP/ILS.pm
    # checkin; sip2.md section 2), unless the account sets checked_in_ok.
    "koha": Personality("koha"),
    # Evergreen SIPServer (evergreen-library-system/SIPServer Sip/MsgType.pm handle_item_information:
    # no AA in 18) with OpenILS::SIP: 64 lists TITLES in AU by default (seed setting
    # msg64_summary_datatype = "title"; Open-ILS/src/perlmods/lib/OpenILS/SIP/Patron.pm
    # charged_items/__circ_to_title); Evergreen's Rust SIP2 server pages the list
    # (DEFAULT_LIST_ITEM_SIZE = 10 without BP/BQ).  A check-in of an item already in: older
    # OpenILS/SIP/Transaction/Checkin.pm do_checkin "unless ($circ) { $self->ok(0) }" -> ok=0, no
    # alert, no AF (issue 13's capture: 100YNN...AB1565921879|AQ|AJPerl 5 desktop reference|);
    # newer versions answer ok=1 for NO_CHANGE.
    "evergreen": Personality("evergreen", au="title", au_page=10, already_in="bare", already_in_text=""),
    # Sierra (Innovative): "Items that are already checked in: Does not check in the item or display
    # an error message" (documentation.iii.com/sierrahelp/Content/sgcir/sgcir_sip2_special_checkin.html).
    # No public source for 18/64 shapes: modelled as standard SIP2 (no AA in 18), barcodes in AU.
    "sierra": Personality("sierra", already_in="bare", already_in_text=""),
    # SirsiDynix Symphony: no public SIP2 source or reply documentation was found; modelled on the
    # strict spec only (no AA in 18) with a paged AU list, so the kiosk cannot lean on either.
    "symphony": Personality("symphony", au_page=5),
    # FOLIO edge-sip2 (folio-org/edge-sip2): ItemInformationResponse.ftl writes no patron
    # identifier; CheckinResponse.ftl writes AA only as "the patron who had the item checked out".
    "folio": Personality("folio"),
}
