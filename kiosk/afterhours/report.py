"""The morning report: every return of the night, what happened to it, and what staff must do.

Built from the drop log (pure functions over its records), so the CLI, the staff screen and the
alert e-mail show the same thing.  Sections, in the order the morning shift works through them:

* holds to shelve -- items the library system trapped for a patron *here* (hold shelf / sort bin);
* transfers -- items to send to another branch (a hold there, or their home is elsewhere);
* needs staff -- refused check-ins, items of other libraries, passes with no readable tag;
* waiting -- returns journaled but not yet confirmed by the library system (they will be sent,
  backdated, when it is back; the count should be 0 by morning);
* all returns, in drop order.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from kiosk.afterhours.droplog import WAITING, DropLog, DropRecord

log = logging.getLogger(__name__)

HOLD_ALERTS = ("hold_here",)
TRANSFER_ALERTS = ("hold_elsewhere", "transfer")
FAILURE_STATES = ("refused", "unreadable", "not_ours")

OUTCOME_TEXT = {
    "checked_in": "checked in",
    "queued": "waiting for the library system",
    "journaled": "waiting for the library system",
    "refused": "refused",
    "unreadable": "no readable tag",
    "not_ours": "not our item",
    "duplicate": "read again (already returned)",
    "reading": "being read",
}
ALERT_TEXT = {"hold_here": "hold: shelve for pickup", "hold_elsewhere": "hold at another branch: send",
              "transfer": "transfer: send home", "other": "see the library system"}


@dataclass(frozen=True)
class ReportLine:
    drop_id: int
    dropped_at: str
    item_id: str | None
    title: str
    outcome: str
    reason_key: str | None = None
    reason_text: str = ""
    alert: str | None = None
    sort_bin: str = ""
    destination: str = ""
    uid: str = ""
    parts: str = ""

    @classmethod
    def from_record(cls, r: DropRecord) -> ReportLine:
        return cls(r.id, r.dropped_at, r.item_id, r.title, r.state, r.reason_key, r.reason_text, r.alert,
                   r.sort_bin, r.destination, r.uid or "", r.parts)


@dataclass(frozen=True)
class NightReport:
    since: str
    until: str | None
    generated_at: str
    returns: tuple[ReportLine, ...] = ()
    holds: tuple[ReportLine, ...] = ()
    transfers: tuple[ReportLine, ...] = ()
    failures: tuple[ReportLine, ...] = ()
    pending: tuple[ReportLine, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    events: tuple[dict, ...] = ()

    @property
    def needs_attention(self) -> bool:
        return bool(self.holds or self.transfers or self.failures or self.pending)


def build_report(drop_log: DropLog, since: datetime, until: datetime | None = None,
                 now: datetime | None = None) -> NightReport:
    """The report of every drop from ``since`` (inclusive) to ``until`` (exclusive, None: now)."""
    records = drop_log.between(since.timestamp(), until.timestamp() if until else None)
    lines = tuple(ReportLine.from_record(r) for r in records)
    counts = {"drops": len(lines)}
    for state in ("checked_in", "queued", "journaled", "refused", "unreadable", "not_ours", "duplicate"):
        counts[state] = sum(1 for ln in lines if ln.outcome == state)
    # "reading" with an item: a pass whose journal write failed or was cut; completed on restart
    counts["waiting"] = counts.pop("queued") + counts.pop("journaled") + sum(
        1 for ln in lines if ln.outcome == "reading" and ln.item_id)
    holds = tuple(ln for ln in lines if ln.alert in HOLD_ALERTS)
    transfers = tuple(ln for ln in lines if ln.alert in TRANSFER_ALERTS)
    counts["holds"], counts["transfers"] = len(holds), len(transfers)
    events = tuple({"at": datetime.fromtimestamp(ts).isoformat(timespec="seconds"), "kind": kind, "detail": detail}
                   for ts, kind, detail in drop_log.events(since.timestamp())
                   if until is None or ts < until.timestamp())
    return NightReport(
        since=since.isoformat(timespec="seconds"),
        until=until.isoformat(timespec="seconds") if until else None,
        generated_at=(now or datetime.now()).isoformat(timespec="seconds"),
        returns=lines, holds=holds, transfers=transfers,
        failures=tuple(ln for ln in lines if ln.outcome in FAILURE_STATES or ln.alert == "other"),
        pending=tuple(ln for ln in lines if ln.outcome in (*WAITING, "reading") and
                      (ln.outcome != "reading" or ln.item_id)),
        counts=counts, events=events)


def report_to_dict(report: NightReport) -> dict[str, Any]:
    return asdict(report)


def report_to_json(report: NightReport) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False)


def _time(iso: str) -> str:
    return iso.replace("T", " ")[:16]


def _plain_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [len(h) for h in headers]
    rows = [tuple(_clip(c) for c in r) for r in rows]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = ["  " + fmt.format(*headers).rstrip(), "  " + "  ".join("-" * w for w in widths)]
    out += ["  " + fmt.format(*r).rstrip() for r in rows]
    return out


def _clip(text: str, width: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _outcome(ln: ReportLine) -> str:
    text = OUTCOME_TEXT.get(ln.outcome, ln.outcome)
    if ln.outcome == "refused" and ln.reason_text:
        text += f": {ln.reason_text}"
    if ln.parts:
        text += f" (parts {ln.parts})"
    return text


def _routing(ln: ReportLine) -> str:
    parts = [ALERT_TEXT.get(ln.alert or "", "")]
    if ln.sort_bin:
        parts.append(f"bin {ln.sort_bin}")
    if ln.destination:
        parts.append(f"to {ln.destination}")
    return ", ".join(p for p in parts if p)


def report_to_table(report: NightReport, titles: bool = True) -> str:
    """The report as plain text for a terminal or an e-mail body (``titles=False`` for alerts)."""
    c = report.counts
    until = _time(report.until) if report.until else "now"
    out = [f"Book-drop returns {_time(report.since)} to {until} (generated {_time(report.generated_at)})",
           f"{c['drops']} drops: {c['checked_in']} checked in, {c['waiting']} waiting for the library system, "
           f"{c['refused']} refused, {c['unreadable']} unreadable, {c['not_ours']} not ours; "
           f"{c['holds']} holds to shelve, {c['transfers']} transfers", ""]

    def item(ln: ReportLine) -> str:
        if ln.item_id:
            return ln.item_id
        return f"(tag {ln.uid})" if ln.uid else "(no tag)"

    def title(ln: ReportLine) -> str:
        return ln.title

    def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
        if not titles and "title" in headers:   # alert texts never carry titles
            i = headers.index("title")
            headers = headers[:i] + headers[i + 1:]
            rows = [r[:i] + r[i + 1:] for r in rows]
        return _plain_table(headers, rows)

    if report.holds:
        out.append(f"Holds to shelve ({len(report.holds)}):")
        out += _table(("dropped", "item", "title", "sort bin"),
                      [(_time(ln.dropped_at), item(ln), title(ln), ln.sort_bin) for ln in report.holds])
        out.append("")
    if report.transfers:
        out.append(f"Transfers ({len(report.transfers)}):")
        out += _table(("dropped", "item", "title", "send to", "sort bin"),
                      [(_time(ln.dropped_at), item(ln), title(ln), ln.destination, ln.sort_bin)
                       for ln in report.transfers])
        out.append("")
    if report.failures:
        out.append(f"Needs staff ({len(report.failures)}):")
        out += _table(("dropped", "item", "title", "problem"),
                      [(_time(ln.dropped_at), item(ln), title(ln), _outcome(ln)) for ln in report.failures])
        out.append("")
    if report.pending:
        out.append(f"Waiting for the library system ({len(report.pending)}; sent with their drop time "
                   f"when it answers):")
        out += _table(("dropped", "item", "title"),
                      [(_time(ln.dropped_at), item(ln), title(ln)) for ln in report.pending])
        out.append("")
    faults = [e for e in report.events if e["kind"] in ("fault", "bin_full")]
    if faults:
        out.append("Slot events:")
        out += [f"  {_time(e['at'])}  {e['kind']}: {e['detail']}" for e in faults]
        out.append("")
    out.append(f"All returns ({len(report.returns)}):")
    if report.returns:
        out += _table(("dropped", "item", "title", "outcome", "routing"),
                      [(_time(ln.dropped_at), item(ln), title(ln), _outcome(ln), _routing(ln))
                       for ln in report.returns])
    else:
        out.append("  (none)")
    return "\n".join(out) + "\n"


def send_report(report: NightReport, settings: Any, alerter: Any = None) -> bool:
    """Send the report to staff through the alerts channel (``[alerts]``); True when queued.

    Uses :class:`kiosk.appliance.alerts.Alerter` (e-mail and/or webhook, rate-limited).  Alert texts carry no
    titles (kiosk.appliance.alerts' privacy rule), so the message lists barcodes, bins and problems; the
    full table is ``kiosk report returns`` and the staff screen.  Returns False when no channel
    is configured or the rate limit held it back.
    """
    a = settings.alerts
    if alerter is None:
        if not (a.email_to or a.webhook_url):
            log.info("returns report not sent: no e-mail or webhook configured in [alerts]")
            return False
        from kiosk.appliance.alerts import Alerter

        alerter = Alerter.from_settings(settings)
        try:
            queued = alerter.alert("afterhours_report", report_to_table(report, titles=False))
            alerter.flush(timeout=max(5.0, 2 * a.timeout_s))
        finally:
            alerter.close()
        return bool(queued)
    return bool(alerter.alert("afterhours_report", report_to_table(report, titles=False)))
