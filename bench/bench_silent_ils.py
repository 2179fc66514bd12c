"""One item against a silent library system (issue 13.8): at most one timeout plus one resolution.

A FakeAcs (Koha personality) that accepts connections and then answers nothing.  Measured in the
same run, against the same silent server:

* baseline -- one bare Item Information request on a logged-in connection: exactly one configured
  timeout (``timeout_s``) plus the client's own overhead;
* checkout / check-in -- ``Circulator.checkout`` / ``Circulator.checkin`` over SipIls on a
  logged-in pool, as the kiosk does them: the send, its timeout, the resolution (or the check-in's
  one resend), the journal.

Target: wall time per item <= 2.2 x the baseline (one timeout for the request, one for the
resolution, 10 % slack for the journal and the reconnect); requests sent per item <= 2.  Before
issue 13 the client resent a timed-out check-in up to ``retries`` times and the engine resolved a
checkout the adapter had already resolved: up to 7 timeouts (72 s with ``timeout_s = 10``).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, write_results  # noqa: E402
from kiosk.circulation.journal import Journal  # noqa: E402
from kiosk.circulation.offline import OfflinePolicy  # noqa: E402
from kiosk.circulation.transact import Circulator  # noqa: E402
from kiosk.errors import OutcomeUnknown  # noqa: E402
from kiosk.sip2.client import Sip2Client  # noqa: E402
from kiosk.sip2.codec import ItemInformationRequest  # noqa: E402
from kiosk.sip2.ils import SipIls  # noqa: E402
from kiosk.sip2.pool import Sip2Pool  # noqa: E402
from kiosk.sip2.testing import FakeAcs  # noqa: E402

TIMEOUT_S = 0.5
ROUNDS = 5


#: what stays silent: everything (a hung server), or only the circulation messages while login and
#: status are still answered (a SIP front end whose library database hangs)
SCENARIOS = {"silent": ("",), "silent on circulation": ("11", "09", "17", "63", "29")}


def _client(server: FakeAcs, retries: int = 2) -> Sip2Client:
    return Sip2Client("127.0.0.1", server.port, user="kiosk", password="kiosk", institution="TEST",
                      location="KIOSK1", timeout_s=TIMEOUT_S, retries=retries)


def _hang(server: FakeAcs, codes: tuple[str, ...]) -> None:
    for code in codes:
        server.inject("hang", code)


def _baseline(server: FakeAcs) -> float:
    """Exactly one configured timeout: a request on a logged-in connection, never resent."""
    with _client(server, retries=0) as c:
        c.connect()
        server.inject("hang", "")
        t0 = time.perf_counter()
        try:
            c.request(ItemInformationRequest(institution_id="TEST", item_id="I1"))
        except OutcomeUnknown:
            pass
        took = time.perf_counter() - t0
        server.hanging.clear()
        return took


def _one_item(server: FakeAcs, tmp: Path, kind: str, n: int, codes: tuple[str, ...]) -> tuple[float, int]:
    ils = SipIls(Sip2Pool(lambda: _client(server), size=2), institution="TEST", location="KIOSK1")
    try:
        with Journal(tmp / f"{kind}-{n}-{len(codes)}.sqlite3") as journal:   # a fresh journal per item
            circ = Circulator(ils, journal, OfflinePolicy(mode="returns+checkouts"))
            assert circ.checkin("I20").acknowledged          # connected and logged in
            server.library.items["I5"].borrower = "P1" if kind == "checkin" else ""
            before = len(server.received)
            _hang(server, codes)
            t0 = time.perf_counter()
            out = circ.checkout("P1", "I5") if kind == "checkout" else circ.checkin("I5")
            took = time.perf_counter() - t0
            sent = sum(1 for code in server.received[before:] if code not in ("93", "99"))
            server.hanging.clear()
            assert out.acknowledged and out.journaled, out
            return took, sent
    finally:
        ils.close()


def main() -> list[dict]:
    import logging

    logging.basicConfig(level=logging.ERROR)
    with FakeAcs(personality="koha") as server, tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        base: list[float] = []
        rows: dict[tuple[str, str], list[tuple[float, int]]] = {
            (scenario, kind): [] for scenario in SCENARIOS for kind in ("checkout", "checkin")}
        for n in range(ROUNDS):               # interleaved: the same machine load for every row
            base.append(_baseline(server))
            for (scenario, kind), results in rows.items():
                results.append(_one_item(server, tmp, kind, n, SCENARIOS[scenario]))
    baseline = statistics.median(base)
    records = []
    for (scenario, kind), results in rows.items():
        wall = statistics.median(t for t, _ in results)
        sent = max(s for _, s in results)
        records.append(record(f"{scenario}: one {kind}, wall vs one timeout", wall, "s", baseline,
                              "<= 2.2 x timeout", wall <= 2.2 * baseline))
        records.append(record(f"{scenario}: one {kind}, circulation msgs sent", sent, "msgs", None,
                              "<= 2", sent <= 2))
    write_results("silent_ils", records)
    return records


if __name__ == "__main__":
    main()
