"""SIP2 client overhead: 1,000 patron-information round trips against a local canned-reply server.

Measured in the same run, against the same server process:
* hand-rolled -- the minimal raw-socket client: builds the 63 with an f-string and a checksum,
               reads to CR, verifies the checksum, splits the fields into a dict (the baseline
               the target is measured against);
* transport -- a raw socket sending a pre-built frame and reading up to CR (no codec at all:
               the floor; reported so the codec's own cost is visible);
* kiosk     -- kiosk.sip2.client.Sip2Client.request(PatronInformationRequest(...)): builds the
               record, encodes with checksum, verifies and decodes the 64 into a typed record;
* PyPI sip2 1.1 (when installed in the venv: ``pip install Sip2==1.1``; not a kiosk dependency).
Target: kiosk / hand-rolled <= 1.1.  The server runs in its own process (no shared GIL) and answers
each request with a canned 64 carrying the request's sequence number.
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing as mp
import socket
import statistics
import sys
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
TARGET = 1.1
REALISTIC_LATENCY_S = 0.001


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


def _request(seq: int) -> PatronInformationRequest:
    return PatronInformationRequest(transaction_date=datetime.now().replace(microsecond=0),
                                    summary="  Y       ", institution_id="BENCH",
                                    patron_id="23529000035676", terminal_password="", patron_password="1234")


def run_baseline(port: int) -> tuple[float, float]:
    frames = [codec.encode(_request(s), seq=s) for s in range(10)]
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(N):
        now = datetime.now()
        body = (f"63000{now:%Y%m%d    %H%M%S}  Y       AOBENCH|AA23529000035676|AC|AD1234|"
                f"AY{i % 10}AZ").encode()
        sock.sendall(body + f"{(-sum(body)) & 0xFFFF:04X}\r".encode())
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
    return dt


def run_kiosk(port: int) -> tuple[float, float]:
    client = Sip2Client("127.0.0.1", port, timeout_s=5, status_on_connect=False)
    client.connect()
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(N):
        reply = client.request(_request(i))
        assert reply.charged_items_count == 3
    dt = (time.perf_counter() - t0, time.process_time() - c0)
    client.close()
    return dt


def run_pypi(port: int) -> tuple[float, float] | None:
    try:
        from Sip2.sip2 import Sip2
    except ImportError:
        return None
    c = Sip2()
    c.log = logging.getLogger("bench.pypi_sip2")   # keep it from opening sip2.log in the cwd
    c.log.setLevel(logging.CRITICAL)
    c.hostName, c.hostPort, c.tlsEnable, c.socketTimeout = "127.0.0.1", port, False, 5
    c.institutionId, c.patron, c.patronpwd = "BENCH", "23529000035676", "1234"
    c.connect()
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


def _start_server(latency_s: float = 0.0) -> tuple[socket.socket, mp.Process]:
    listener = socket.create_server(("127.0.0.1", 0))
    server = mp.get_context("fork").Process(target=_serve, args=(listener, latency_s), daemon=True)
    server.start()
    return listener, server


def _stop_server(listener: socket.socket, server: mp.Process) -> None:
    server.terminate()
    server.join(2)
    listener.close()


def main() -> int:
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
        slow_hand = run_handrolled(listener.getsockname()[1])[0]
        slow_kiosk = run_kiosk(listener.getsockname()[1])[0]
    finally:
        _stop_server(listener, server)
    to_us = 1e6 / N
    b, h, k = (min(w for w, _ in runs) for runs in (base, hand, kiosk))
    hc, kc = (min(c for _, c in runs) for runs in (hand, kiosk))
    records = [
        record("sip2 round trip: kiosk vs hand-rolled raw socket", k * to_us, "us", h * to_us,
               f"<= {TARGET} x raw socket", k / h <= TARGET),
        record("sip2 round trip: kiosk vs transport only", k * to_us, "us", b * to_us,
               f"<= {TARGET} x (no codec)", k / b <= TARGET),
        record("sip2 client CPU per round trip: kiosk vs hand-rolled", kc * to_us, "us", hc * to_us,
               "report (noise-free view)", True),
    ]
    records.append(record("sip2 round trip, server 1 ms/reply: kiosk vs hand-rolled", slow_kiosk * to_us,
                          "us", slow_hand * to_us, "report (context)", True))
    if pypi:
        p = min(w for w, _ in pypi)
        records.append(record("sip2 round trip: kiosk vs PyPI sip2 1.1", k * to_us, "us", p * to_us,
                              "report (no target)", True))
    else:
        print("PyPI sip2 1.1 not installed: pip install Sip2==1.1 to compare")

    def med(runs: list[tuple[float, float]]) -> float:
        return statistics.median(w for w, _ in runs) * to_us

    print(f"median wall per round trip over {ROUNDS} rounds: transport {med(base):.1f} us, "
          f"hand-rolled {med(hand):.1f} us, kiosk {med(kiosk):.1f} us"
          + (f", PyPI sip2 {med(pypi):.1f} us" if pypi else ""))
    write_results("sip2", records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
