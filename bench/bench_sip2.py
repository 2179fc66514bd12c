"""SIP2 client overhead: 1,000 patron-information round trips against a local server (issue 3).

Two local servers, each in its own process (no shared GIL with the client):

* **canned** -- answers every 63 with a pre-encoded 64 carrying the request's sequence number.
  The server costs almost nothing, so this is the harshest view of the client's own cost.
* **demo library system** -- ``kiosk.demo_ils.server.DemoIlsServer`` on a freshly seeded SQLite
  database in a temporary directory: a real SIP2 server (login required, patron looked up in the
  database, CR LF terminators like Koha).  Every client logs in (93) first, outside the timing,
  then asks for the patron information of a valid demo patron with a PIN and loans.

Clients, measured in the same run against the same server process, interleaved over best-of rounds:

* hand-rolled -- the minimal raw-socket client and the baseline of the target: builds the 63 with
  an f-string and a checksum, sendall, reads to CR, verifies the checksum, splits the fields into
  a dict.  The bench checks that the kiosk client sends exactly the same bytes;
* transport (canned only) -- a raw socket sending a pre-built frame and reading up to CR: no codec
  at all, the floor, reported so the codec's own cost is visible;
* kiosk -- ``Sip2Client.request(PatronInformationRequest(...))``: builds the record, encodes it
  with sequence number and checksum, checks that the idle connection is still open, verifies and
  decodes the reply into a typed record (counts as ints, dates as datetimes, lists as tuples);
* PyPI sip2 1.1, declared in setup.cfg's ``bench`` extra (``make bench`` installs it; not a kiosk
  dependency).  If it is missing all the same, the row is still written, with ``met: null`` and why.

Target (issue 3): kiosk / hand-rolled <= 1.1 in wall time per round trip.
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, write_results  # noqa: E402
from kiosk.sip2 import codec  # noqa: E402
from kiosk.sip2.client import Sip2Client  # noqa: E402
from kiosk.sip2.codec import PatronInformationRequest, PatronInformationResponse  # noqa: E402

N = 1000
ROUNDS = 7           # best-of rounds, interleaved, to damp noise on a shared machine
DEMO_ROUNDS = 7      # best-of too; the order of the clients alternates from round to round
TARGET = 1.1
REALISTIC_LATENCY_S = 0.001
DEMO_USER, DEMO_PASSWORD, DEMO_INSTITUTION, DEMO_LOCATION = "kiosk", "kiosk", "DEMO", "KIOSK1"


def _canned_replies() -> dict[int, bytes]:
    reply = PatronInformationResponse(
        patron_status=" " * 14, language="001", transaction_date=datetime(2026, 1, 1, 12, 0, 0),
        hold_items_count=0, overdue_items_count=0, charged_items_count=3, fine_items_count=0,
        recall_items_count=0, unavailable_holds_count=0, institution_id="BENCH", patron_id="23529000035676",
        personal_name="Patron Name", valid_patron=True, valid_patron_password=True, currency_type="USD",
        fee_amount="0.00", charged_items=("39999000001310", "39999000001311", "39999000001312"),
        screen_messages="Greetings from the bench")
    return {seq: codec.encode(reply, seq=seq) for seq in range(10)}


def _serve(listener: socket.socket, latency_s: float = 0.0) -> None:
    replies = _canned_replies()
    while True:
        conn, _ = listener.accept()
        buf = b""
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\r" in buf:
                    frame, buf = buf.split(b"\r", 1)
                    i = frame.rfind(b"AY")
                    seq = frame[i + 2] - 48 if i >= 0 else 0
                    if latency_s:
                        time.sleep(latency_s)
                    conn.sendall(replies.get(seq, replies[0]))


def _request(now: datetime, institution: str = "BENCH", patron: str = "23529000035676",
             pin: str = "1234") -> PatronInformationRequest:
    # datetime.now() as is: the wire carries whole seconds (sip_datetime), as in the hand-rolled client.
    return PatronInformationRequest(transaction_date=now, summary="  Y       ", institution_id=institution,
                                    patron_id=patron, terminal_password="", patron_password=pin)


def _same_bytes(hand_frame: bytes, **who: str) -> None:
    """The kiosk client must send exactly the frame the hand-rolled client sent (same date, same seq)."""
    text = hand_frame.decode()
    now = datetime.strptime(text[5:13] + text[17:23], "%Y%m%d%H%M%S")
    seq = int(text[text.rfind("AY") + 2])
    kiosk_frame = codec.encode(_request(now, **who), seq=seq)
    if kiosk_frame != hand_frame:
        raise AssertionError(f"the clients do not send the same request:\n{hand_frame!r}\n{kiosk_frame!r}")


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def run_baseline(port: int) -> tuple[float, float]:
    frames = [codec.encode(_request(datetime.now()), seq=s) for s in range(10)]
    sock = _connect(port)
    buf = b""
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(N):
        sock.sendall(frames[i % 10])
        while b"\r" not in buf:
            buf += sock.recv(65536)
        _, buf = buf.split(b"\r", 1)
    dt = (time.perf_counter() - t0, time.process_time() - c0)
    sock.close()
    return dt


def run_handrolled(port: int) -> tuple[float, float]:
    """The minimal raw-socket client: f-string frame + checksum, read to CR, verify, split fields."""
    sock = _connect(port)
    buf = b""
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(N):
        now = datetime.now()
        body = (f"63000{now:%Y%m%d    %H%M%S}  Y       AOBENCH|AA23529000035676|AC|AD1234|"
                f"AY{i % 10}AZ").encode()
        sent = body + f"{(-sum(body)) & 0xFFFF:04X}\r".encode()
        sock.sendall(sent)
        while b"\r" not in buf:
            buf += sock.recv(65536)
        frame, buf = buf.split(b"\r", 1)
        cut = frame.rfind(b"AZ") + 2
        if (sum(frame[:cut]) + int(frame[cut:], 16)) & 0xFFFF:
            raise ValueError("bad checksum")
        text = frame.decode("utf-8")
        fields = {c[:2]: c[2:] for c in text[61: text.rfind("AY")].split("|") if c}
        assert text[45:49] == "0003" and fields["AA"] == "23529000035676"
    dt = (time.perf_counter() - t0, time.process_time() - c0)
    sock.close()
    _same_bytes(sent)
    return dt


def run_kiosk(port: int) -> tuple[float, float]:
    client = Sip2Client("127.0.0.1", port, timeout_s=5, status_on_connect=False)
    client.connect()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(N):
        reply = client.request(_request(datetime.now()))
        assert reply.charged_items_count == 3
    dt = (time.perf_counter() - t0, time.process_time() - c0)
    client.close()
    return dt


def _pypi_client(port: int, institution: str, patron: str, pin: str):  # noqa: ANN202 - optional package
    try:
        from Sip2.sip2 import Sip2
    except ImportError:
        return None
    c = Sip2()
    c.log = logging.getLogger("bench.pypi_sip2")   # keep it from opening sip2.log in the cwd
    c.log.setLevel(logging.CRITICAL)
    c.hostName, c.hostPort, c.tlsEnable, c.socketTimeout = "127.0.0.1", port, False, 5
    c.institutionId, c.patron, c.patronpwd = institution, patron, pin
    c.connect()
    return c


def run_pypi(port: int) -> tuple[float, float] | None:
    c = _pypi_client(port, "BENCH", "23529000035676", "1234")
    if c is None:
        return None
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(N):
        msg = c.sip_patron_information_request("charged")
        parsed = c.sip_patron_information_response(c.get_response(msg))
        assert parsed["fixed"]["ChargedItemsCount"] == "0003"
    dt = (time.perf_counter() - t0, time.process_time() - c0)
    with contextlib.redirect_stdout(io.StringIO()):   # its __del__ prints "Sip2 object unset"
        c.disconnect()
        del c
    return dt


# ------------------------------------------------------------------ the demo library system
def _serve_demo(directory: str, conn) -> None:  # noqa: ANN001 - a multiprocessing Connection
    from kiosk.demo_ils.server import DemoIlsServer

    with DemoIlsServer(Path(directory) / "library.db", user=DEMO_USER, password=DEMO_PASSWORD,
                       institution=DEMO_INSTITUTION) as srv:
        patron = next(p for p in srv.db.export()["patrons"]
                      if p["status"] == "ok" and p["pin"] and len(p["loans"]) >= 2)
        conn.send((srv.port, patron["card"], patron["pin"], len(patron["loans"])))
        conn.recv()                       # run until the bench says stop


def run_handrolled_demo(port: int, card: str, pin: str, loans: int) -> tuple[float, float]:
    """The same minimal client against the demo library system: login (93) first, then the 63.
    Its replies end in CR LF like Koha's, so the LF left in front of the next reply is stripped."""
    sock = _connect(port)
    body = f"9300CN{DEMO_USER}|CO{DEMO_PASSWORD}|CP{DEMO_LOCATION}|AY0AZ".encode()
    sock.sendall(body + f"{(-sum(body)) & 0xFFFF:04X}\r".encode())
    buf = b""
    while b"\r" not in buf:
        buf += sock.recv(65536)
    frame, buf = buf.split(b"\r", 1)
    assert frame.startswith(b"941"), frame
    count = f"{loans:04d}"
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(N):
        now = datetime.now()
        body = (f"63000{now:%Y%m%d    %H%M%S}  Y       AO{DEMO_INSTITUTION}|AA{card}|AC|AD{pin}|"
                f"AY{i % 10}AZ").encode()
        sent = body + f"{(-sum(body)) & 0xFFFF:04X}\r".encode()
        sock.sendall(sent)
        while b"\r" not in buf:
            buf += sock.recv(65536)
        frame, buf = buf.split(b"\r", 1)
        frame = frame.lstrip(b"\n")
        cut = frame.rfind(b"AZ") + 2
        if (sum(frame[:cut]) + int(frame[cut:], 16)) & 0xFFFF:
            raise ValueError("bad checksum")
        text = frame.decode("utf-8")
        fields = {c[:2]: c[2:] for c in text[61: text.rfind("AY")].split("|") if c}
        assert text[45:49] == count and fields["AA"] == card and fields["CQ"] == "Y", text
    dt = (time.perf_counter() - t0, time.process_time() - c0)
    sock.close()
    _same_bytes(sent, institution=DEMO_INSTITUTION, patron=card, pin=pin)
    return dt


def run_kiosk_demo(port: int, card: str, pin: str, loans: int) -> tuple[float, float]:
    client = Sip2Client("127.0.0.1", port, user=DEMO_USER, password=DEMO_PASSWORD, institution=DEMO_INSTITUTION,
                        location=DEMO_LOCATION, timeout_s=5, status_on_connect=False)
    client.connect()                      # logs in (93)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(N):
        reply = client.request(_request(datetime.now(), DEMO_INSTITUTION, card, pin))
        assert reply.charged_items_count == loans and reply.patron_id == card and reply.valid_patron_password
    dt = (time.perf_counter() - t0, time.process_time() - c0)
    client.close()
    return dt


def run_pypi_demo(port: int, card: str, pin: str, loans: int) -> tuple[float, float] | None:
    c = _pypi_client(port, DEMO_INSTITUTION, card, pin)
    if c is None:
        return None
    login = c.sip_login_response(c.get_response(c.sip_login_request(DEMO_USER, DEMO_PASSWORD)))
    assert login["fixed"]["Ok"] == "1", login
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(N):
        # items 1-50 (the demo server's default page) so the reply is the same as the other clients get
        msg = c.sip_patron_information_request("charged", "1", "50")
        parsed = c.sip_patron_information_response(c.get_response(msg))
        assert parsed["fixed"]["ChargedItemsCount"] == f"{loans:04d}", parsed
    dt = (time.perf_counter() - t0, time.process_time() - c0)
    with contextlib.redirect_stdout(io.StringIO()):   # its __del__ prints "Sip2 object unset"
        c.disconnect()
        del c
    return dt


# ------------------------------------------------------------------ main
def _start_server(latency_s: float = 0.0) -> tuple[socket.socket, mp.Process]:
    listener = socket.create_server(("127.0.0.1", 0))
    server = mp.get_context("fork").Process(target=_serve, args=(listener, latency_s), daemon=True)
    server.start()
    return listener, server


def _stop_server(listener: socket.socket, server: mp.Process) -> None:
    server.terminate()
    server.join(2)
    listener.close()


def _best(runs: list[tuple[float, float]], cpu: bool = False) -> float:
    return min(r[1 if cpu else 0] for r in runs) * 1e6 / N


def _median(runs: list[tuple[float, float]]) -> float:
    return statistics.median(w for w, _ in runs) * 1e6 / N


def _pypi_record(metric: str, kiosk_us: float, pypi: list[tuple[float, float]]) -> dict:
    """The peer comparison, or a row that says why it is missing: never a silent skip (issue 19)."""
    if pypi:
        return record(metric, kiosk_us, "us", _best(pypi), "report (no target)", None, why="report only")
    why = "PyPI sip2 1.1 not importable (make bench installs setup.cfg's bench extra)"
    print(f"{metric}: not compared: {why}", file=sys.stderr)
    return record(metric, kiosk_us, "us", None, "report (no target)", None, why=why)


def bench_canned() -> list[dict]:
    listener, server = _start_server()
    port = listener.getsockname()[1]
    try:
        base, hand, kiosk, pypi = [], [], [], []
        for _ in range(ROUNDS):
            base.append(run_baseline(port))
            hand.append(run_handrolled(port))
            kiosk.append(run_kiosk(port))
            p = run_pypi(port)
            if p is not None:
                pypi.append(p)
    finally:
        _stop_server(listener, server)
    # The same comparison with a server that takes 1 ms per reply (a fast real ILS takes more):
    # how much the client's own cost weighs once the library system does any work at all.
    listener, server = _start_server(REALISTIC_LATENCY_S)
    try:
        slow_hand = run_handrolled(listener.getsockname()[1])[0] * 1e6 / N
        slow_kiosk = run_kiosk(listener.getsockname()[1])[0] * 1e6 / N
    finally:
        _stop_server(listener, server)
    b, h, k = _best(base), _best(hand), _best(kiosk)
    hc, kc = _best(hand, cpu=True), _best(kiosk, cpu=True)
    records = [
        record("sip2 round trip: kiosk vs hand-rolled raw socket", k, "us", h, f"<= {TARGET} x raw socket",
               k / h <= TARGET),
        record("sip2 round trip: kiosk vs transport only", k, "us", b, f"<= {TARGET} x (no codec)", k / b <= TARGET),
        record("sip2 client CPU per round trip: kiosk vs hand-rolled", kc, "us", hc, "report (noise-free view)",
               None, why="report only"),
        record("sip2 round trip, server 1 ms/reply: kiosk vs hand-rolled", slow_kiosk, "us", slow_hand,
               "report (context)", None, why="report only"),
    ]
    records.append(_pypi_record("sip2 round trip: kiosk vs PyPI sip2 1.1", k, pypi))
    print(f"canned server, median wall per round trip over {ROUNDS} rounds: transport {_median(base):.1f} us, "
          f"hand-rolled {_median(hand):.1f} us, kiosk {_median(kiosk):.1f} us"
          + (f", PyPI sip2 {_median(pypi):.1f} us" if pypi else ""))
    return records


def bench_demo() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-sip2-demo-") as directory:
        parent, child = mp.get_context("fork").Pipe()
        server = mp.get_context("fork").Process(target=_serve_demo, args=(directory, child), daemon=True)
        server.start()
        try:
            if not parent.poll(30):
                raise RuntimeError("the demo library system did not start")
            port, card, pin, loans = parent.recv()
            hand: list[tuple[float, float]] = []
            kiosk: list[tuple[float, float]] = []
            pypi: list[tuple[float, float]] = []
            clients = [(run_handrolled_demo, hand), (run_kiosk_demo, kiosk), (run_pypi_demo, pypi)]
            for i in range(DEMO_ROUNDS):
                for run, results in clients if i % 2 == 0 else clients[::-1]:
                    dt = run(port, card, pin, loans)
                    if dt is not None:
                        results.append(dt)
        finally:
            with contextlib.suppress(OSError):
                parent.send("stop")
            server.join(10)
            if server.is_alive():
                server.terminate()
                server.join(2)
    h, k = _best(hand), _best(kiosk)
    records = [
        record("sip2 round trip, demo library system: kiosk vs hand-rolled raw socket", k, "us", h,
               f"<= {TARGET} x raw socket", k / h <= TARGET),
        record("sip2 client CPU per round trip, demo library system: kiosk vs hand-rolled",
               _best(kiosk, cpu=True), "us", _best(hand, cpu=True), "report (noise-free view)", None,
               why="report only"),
    ]
    records.append(_pypi_record("sip2 round trip, demo library system: kiosk vs PyPI sip2 1.1", k, pypi))
    print(f"demo library system, median wall per round trip over {DEMO_ROUNDS} rounds: hand-rolled "
          f"{_median(hand):.1f} us, kiosk {_median(kiosk):.1f} us"
          + (f", PyPI sip2 {_median(pypi):.1f} us" if pypi else ""))
    return records


def main() -> int:
    records = bench_canned() + bench_demo()
    write_results("sip2", records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
