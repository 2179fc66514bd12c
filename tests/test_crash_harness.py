"""Harness of the no-loss tests: a fault-injecting SIP2 proxy, a kiosk worker process, the checks.

* :class:`~tests.fault_proxy.FaultProxy` sits between the kiosk and the real demo library system and
  can be *down*, *drop* the reply to given message codes after the library system acted on the
  request (the ambiguous case), or *delay* replies.
* ``python -m tests.test_crash_harness worker ...`` is a kiosk process: the real
  :class:`KioskService` over the real :class:`SipIls` and journal, working a plan of sessions
  (stacks of checkouts for one patron, stacks of returns).  It appends a line to the ack file for
  every item the screen would show as done -- only after the durable point -- and is killed with
  SIGKILL at random instants by the tests.
* :func:`check_no_loss` compares what was acknowledged with the demo library's database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fault_proxy import FaultProxy

ROOT = Path(__file__).resolve().parent.parent


# ---- the plan --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Op:
    index: int
    kind: str          # checkout / checkin
    item_id: str
    patron_id: str | None


def build_plan(export: dict, block_size: int = 3, rounds: int = 1, limit_items: int | None = None) -> list[dict]:
    """Sessions of the batch: a stack of checkouts for a patron, then a stack returning them (plus,
    in round 0, items that were on loan before).  Over several rounds an item goes to a different
    patron each time, so "this patron's checkout of this item" names one transaction."""
    available = [i["barcode"] for i in export["items"]
                 if i["status"] == "available" and not i["holds"] and i.get("parts", 1) == 1 and not i["scenario"]]
    on_loan = [i["barcode"] for i in export["items"] if i["status"] == "on_loan"]
    if limit_items:
        available = available[:limit_items]
    patrons = [p["card"] for p in export["patrons"]
               if p["status"] == "ok" and p["can_checkout"] and p["loan_limit"] - len(p["loans"]) >= block_size]
    assert len(patrons) >= rounds, "not enough patrons for that many rounds"
    blocks: list[dict] = []
    index = 0
    old_returns = list(on_loan)
    for r in range(rounds):
        for n, b in enumerate(range(0, len(available), block_size)):
            chunk = available[b:b + block_size]
            patron = patrons[(n + r) % len(patrons)]
            ops = []
            for item in chunk:
                ops.append({"index": index, "kind": "checkout", "item_id": item, "patron_id": patron, "round": r})
                index += 1
            blocks.append({"mode": "borrow", "patron_id": patron, "ops": ops})
            ops = []
            for item in chunk:
                ops.append({"index": index, "kind": "checkin", "item_id": item, "patron_id": patron, "round": r})
                index += 1
            for item in old_returns[:2]:
                ops.append({"index": index, "kind": "checkin", "item_id": item, "patron_id": None, "round": r})
                index += 1
            old_returns = old_returns[2:]
            blocks.append({"mode": "return", "patron_id": None, "ops": ops})
    return blocks


def read_lines(path: Path) -> list[str]:
    """Complete lines only (a kill may leave half a line)."""
    if not path.exists():
        return []
    text = path.read_text()
    lines = text.split("\n")
    return [x for x in lines[:-1] if x.strip()]


def acknowledged(acks: Path) -> dict[int, dict]:
    out = {}
    for line in read_lines(acks):
        rec = json.loads(line)
        out[rec["index"]] = rec
    return out


# ---- the worker (a kiosk process) ------------------------------------------------------------
def worker(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    ap.add_argument("--plan", required=True)
    ap.add_argument("--acks", required=True)
    ap.add_argument("--progress", required=True)
    ap.add_argument("--until-block", type=int, default=None, help="stop after this block (-1: only sync)")
    args = ap.parse_args(argv)

    from kiosk import config
    from kiosk.circulation import view as v
    from kiosk.circulation.journal import Journal
    from kiosk.circulation.replay import Replayer
    from kiosk.circulation.service import KioskService
    from kiosk.ils.factory import ils_from_settings

    if os.environ.get("CRASH_MUTATION") == "blind_resend":
        # Deliberately broken kiosk (to prove the checks can fail): rows in doubt are resent
        # without asking Item Information first.
        from kiosk.circulation import journal as jn
        from kiosk.circulation.replay import Replayer as _R

        def blind(self, row, queued_now, report):
            if not queued_now:
                self.journal.mark_replaying([row.id])
                row = self.journal.get(row.id)
                if not row.acked:
                    self.journal.record_outcome(row.id, jn.QUEUED, acked=True)
            return self._send(row, report)
        _R._one = blind

    settings = config.load(args.config, args.overrides)
    plan = json.loads(Path(args.plan).read_text())
    journal = Journal(settings.data_dir / "journal.sqlite3")     # recovers rows a killed run left
    ils = ils_from_settings(settings)                            # SIP2 or FOLIO ([ils] protocol)
    report = Replayer(ils, journal).sync()                       # restart: sync first
    progress_fd = os.open(args.progress, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    acks_fd = os.open(args.acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(progress_fd, f"ready {json.dumps(report.as_dict())}\n".encode())
    print("ready", flush=True)
    started = [int(x.split()[1]) for x in read_lines(Path(args.progress)) if x.startswith("start ")]
    next_block = max(started) + 1 if started else 0

    current: dict[str, int] = {}
    acked: set[int] = set()
    lock = threading.Lock()

    def listener(view) -> None:
        with lock:
            for line in view.items:
                index = current.get(line.item_id)
                if index is None or index in acked or line.state != v.DONE:
                    continue
                acked.add(index)
                # the screen says "done" now: the library confirmed it or the journal holds it
                rec = {"index": index, "item_id": line.item_id, "action": line.action,
                       "journaled": line.journaled, "journal_id": line.journal_id}
                os.write(acks_fd, (json.dumps(rec) + "\n").encode())

    svc = KioskService(settings, ils, journal, listener)
    try:
        last = len(plan) - 1 if args.until_block is None else min(args.until_block, len(plan) - 1)
        for b in range(next_block, last + 1):
            block = plan[b]
            os.write(progress_fd, f"start {b}\n".encode())
            with lock:
                current = {op["item_id"]: op["index"] for op in block["ops"]}
            if block["mode"] == "borrow":
                svc.card_presented(block["patron_id"])
                svc.wait_idle()
                if svc.view().state not in (v.IDENTIFIED, v.WORKING):
                    os.write(progress_fd, f"unidentified {b} {svc.view().message_key}\n".encode())
                    svc.cancel()
                    svc.wait_idle()
                    continue
            else:
                svc.start(v.RETURN)
            for op in block["ops"]:
                svc.item_seen(op["item_id"], source="barcode")
            svc.wait_idle()
            svc.finish("none")
            svc.wait_idle()
            os.write(progress_fd, f"end {b}\n".encode())
        os.write(progress_fd, b"finished\n")
    finally:
        svc.close()
        ils.close()
        journal.close()
    return 0


# ---- the checks ------------------------------------------------------------------------------
def check_no_loss(db, plan: list[dict], acks: dict[int, dict], initially_on_loan: set[str],
                  attempted_blocks: int) -> dict:
    """Every acknowledged transaction happened exactly once in the library system; nothing doubled."""
    ops = {op["index"]: op for block in plan[:attempted_blocks] for op in block["ops"]}
    problems: list[str] = []
    counts = {"attempted_ops": len(ops), "acked_checkouts": 0, "acked_checkins": 0, "acked_journaled": 0}
    for item in {op["item_id"] for op in ops.values()}:
        outs = db.checkouts_of(item)
        cards = [t["card"] for t in outs]
        if len(cards) != len(set(cards)):
            problems.append(f"item {item} checked out twice to the same patron: {cards}")
        renewals = [t for t in db.transactions_for_item(item, "renewal") if t["ok"]]
        if renewals:   # the plan never renews: a renewal is a checkout sent twice (Koha renews then)
            problems.append(f"item {item}: {len(renewals)} renewal(s), i.e. a checkout was doubled")
        loans = (1 if item in initially_on_loan else 0) + len(outs)
        ins = db.checkins_of(item)
        if len(ins) > loans:
            problems.append(f"item {item} checked in {len(ins)} times for {loans} loans")
    for index, rec in acks.items():
        op = ops.get(index)
        if op is None:
            problems.append(f"acknowledged op {index} was never planned")
            continue
        counts["acked_journaled"] += bool(rec["journaled"])
        item = op["item_id"]
        if op["kind"] == "checkout":
            counts["acked_checkouts"] += 1
            mine = [t for t in db.checkouts_of(item) if t["card"] == op["patron_id"]]
            if len(mine) != 1:
                problems.append(f"acknowledged checkout of {item} to {op['patron_id']} happened {len(mine)} times")
        else:
            counts["acked_checkins"] += 1
            history = db.loan_history(item)
            loans = [lo for lo in history if lo["card"] == op["patron_id"]] if op["patron_id"] else history[:1]
            open_loans = [lo for lo in loans if lo["returned_at"] is None]
            if open_loans:
                problems.append(f"acknowledged return of {item} (op {index}): the loan is still open")
    return {"problems": problems, **counts}


# ---- a self-test of the proxy (so this module also proves its own tool works) ----------------
def test_fault_proxy_forwards_drops_and_goes_down():
    echo = socket.socket()
    echo.bind(("127.0.0.1", 0))
    echo.listen(5)

    def serve():
        while True:
            try:
                c, _ = echo.accept()
            except OSError:
                return
            data = c.recv(100)
            c.sendall(b"12" + data[2:])
            c.close()
    threading.Thread(target=serve, daemon=True).start()
    proxy = FaultProxy(echo.getsockname()[1])
    try:
        with socket.create_connection(("127.0.0.1", proxy.port)) as s:
            s.sendall(b"11abc\r")
            assert s.recv(100) == b"12abc\r"
        proxy.drop_next("12")
        with socket.create_connection(("127.0.0.1", proxy.port)) as s:
            s.sendall(b"11abc\r")
            assert s.recv(100) == b""          # swallowed, connection closed
        assert proxy.dropped == 1
        proxy.set_down(True)
        with socket.create_connection(("127.0.0.1", proxy.port)) as s:
            try:
                s.sendall(b"11abc\r")
                got = s.recv(100)
            except ConnectionResetError:
                got = b""
            assert got == b""
    finally:
        proxy.close()
        echo.close()


def spawn_worker(cfg: Path, overrides: list[str], plan: Path, acks: Path, progress: Path,
                 until_block: int | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tests.test_crash_harness", "worker", "--config", str(cfg),
           "--plan", str(plan), "--acks", str(acks), "--progress", str(progress)]
    if until_block is not None:
        cmd += ["--until-block", str(until_block)]
    for o in overrides:
        cmd += ["--set", o]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "KIOSK_LOG_LEVEL": "ERROR"})


def run_crash_batch(workdir: Path, kills: int, seed: int, latency_ms: int = 40, offline_every: int = 5,
                    limit_items: int | None = None, kill_window_s: float = 0.4, block_size: int = 3,
                    rounds: int = 4, min_ops: int = 260, log=print, protocol: str = "sip2") -> dict:
    """The whole crash experiment; returns the check result (the tests assert on it).
    ``protocol="folio"``: the kiosk speaks FOLIO's HTTP API to the same demo library."""
    from kiosk.demo_ils.server import DemoIlsServer

    rng = random.Random(seed)
    server = DemoIlsServer(workdir / "library.sqlite3", latency_ms=latency_ms).start()
    folio = None
    if protocol == "folio":
        from kiosk.demo_ils.folio_http import FolioDemoServer

        folio = FolioDemoServer(server.db, latency_ms=latency_ms).start()
    proxy = FaultProxy(folio.port if folio else server.port)
    proxy.down_delay_s = 0.05          # offline work is then realistic, not instantaneous
    timers: list[threading.Timer] = []
    try:
        export = server.db.export()
        initially_on_loan = {i["barcode"] for i in export["items"] if i["status"] == "on_loan"}
        plan = build_plan(export, block_size=block_size, rounds=rounds, limit_items=limit_items)
        plan_path, acks, progress = workdir / "plan.json", workdir / "acks.jsonl", workdir / "progress.txt"
        plan_path.write_text(json.dumps(plan))
        cfg = ROOT / "config" / "demo.toml"
        overrides = [f"ils.port={proxy.port}", f"storage.data_dir={workdir / 'kiosk'}",
                     "kiosk.offline_policy=returns+checkouts", "offline.validate_cards=false",
                     "offline.max_items_per_patron=50", "ils.timeout_s=2.0", "ils.pool_size=4"]
        if folio is not None:
            overrides += ["ils.protocol=folio", f"ils.url=http://127.0.0.1:{proxy.port}"]

        def started() -> int:
            nums = [int(x.split()[1]) for x in read_lines(progress) if x.startswith("start ")]
            return max(nums) if nums else -1

        def finish(until: int) -> None:
            for t in timers:
                t.cancel()
            proxy.set_down(False)
            proc = spawn_worker(cfg, overrides + [], plan_path, acks, progress, until)
            _, err = proc.communicate(timeout=300)
            if proc.returncode != 0:
                raise AssertionError(f"worker failed: {err[-3000:]}")

        done_kills = runs = 0
        while done_kills < kills:
            if any(x == "finished" for x in read_lines(progress)):
                raise AssertionError(f"the plan ran out after {done_kills} kills: make it longer")
            runs += 1
            proc = spawn_worker(cfg, overrides, plan_path, acks, progress)
            if runs % offline_every == 0:
                # the library system goes away in the middle of this run (and comes back later)
                t1 = threading.Timer(rng.uniform(0.4, 0.6), proxy.set_down, (True,))
                t2 = threading.Timer(rng.uniform(0.9, 1.5), proxy.set_down, (False,))
                timers.extend((t1, t2))
                t1.start()
                t2.start()
            if rng.random() < 0.6:
                line = proc.stdout.readline()            # after startup and the sync: mid-work
                if not line:
                    _, err = proc.communicate()
                    raise AssertionError(f"worker died: {err[-3000:]}")
                time.sleep(rng.uniform(0.0, kill_window_s))
            else:
                time.sleep(rng.uniform(0.1, 0.9))        # anywhere: startup, recovery, sync, work
            proc.kill()                                  # SIGKILL
            _, err = proc.communicate()
            if proc.returncode == 0:
                break                                    # it worked through the whole plan first
            if proc.returncode != -9:
                raise AssertionError(f"worker failed ({proc.returncode}): {err[-3000:]}")
            done_kills += 1
        # finish the interrupted sessions and some more, undisturbed, so that the batch holds at
        # least ``min_ops`` transactions however fast this machine got through the killed runs
        last = started() + 5
        while last < len(plan) - 1 and sum(len(b["ops"]) for b in plan[:last + 1]) < min_ops:
            last += 1
        finish(last)
        finish(-1)                     # a last start: recovery and sync only
        attempted = started() + 1
        acks_map = acknowledged(acks)
        result = check_no_loss(server.db, plan, acks_map, initially_on_loan, attempted)
        from kiosk.circulation.journal import Journal
        with Journal(workdir / "kiosk" / "journal.sqlite3") as journal:
            result["journal"] = journal.counts()
            result["pending"] = journal.pending_count()
            result["staff_reasons"] = sorted({r.reason_key for r in journal.staff_queue()})
        result.update(kills=done_kills, runs=runs, acked=len(acks_map))
        log(json.dumps(result))
        return result
    finally:
        for t in timers:
            t.cancel()
        proxy.close()
        if folio is not None:
            folio.stop()
        server.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        raise SystemExit(worker(sys.argv[2:]))
    raise SystemExit("usage: python -m tests.test_crash_harness worker ...")
