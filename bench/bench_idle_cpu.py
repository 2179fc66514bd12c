"""Idle CPU of the kiosk's hardware layer while every reader polls, beside a busy-wait baseline.

Target: <= 1 % of one core while idle.  Three measurements in one run:

* ``sim_twins``: ``open_devices`` with ``[hardware] simulate = true`` and every device started
  (what the demo and a laptop run);
* ``real_drivers``: the production drivers polling protocol-level simulations -- the FEIG
  driver against a simulated reader on a pty (the simulator runs in a child process, so only the
  kiosk's CPU is counted) and the MFRC522 driver against the register-level chip behind a fake
  spidev (1 ms air latency, like a real exchange), one tag in the field;
* baseline ``busy_wait``: the ``mfrc522`` package's ``read()`` pattern -- look for a card again
  and again with no sleep -- on the same simulated chip.

CPU is this process's user+system time over a wall-clock window (``time.process_time``).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, write_results  # noqa: E402

WINDOW_S = 10.0


def cpu_percent(window: float) -> float:
    wall0, cpu0 = time.monotonic(), time.process_time()
    time.sleep(window)
    return 100.0 * (time.process_time() - cpu0) / (time.monotonic() - wall0)


def measure_sim_twins() -> float:
    from kiosk import config
    from kiosk.hardware import open_devices

    devices = open_devices(config.load(None, ["hardware.simulate=true"]))
    devices.start()
    devices.tag_reader.place("1000000056", isil="DK-718500")
    time.sleep(1.0)                                   # settle: first inventory and decode done
    try:
        return cpu_percent(WINDOW_S)
    finally:
        devices.close()


def _feig_server(conn) -> None:   # child process: the simulated reader
    from kiosk.hardware.feig_sim import FeigSimulator, PtyFeigReader, SimTag
    from kiosk.tags import encode_tag

    sim = FeigSimulator()
    sim.add(SimTag(uid="E004010000000001", data=encode_tag("28560-3", "1000000056", isil="DK-718500")))
    with PtyFeigReader(sim) as pty:
        conn.send(pty.port)
        conn.recv()                                   # run until the parent says stop


def measure_real_drivers() -> float:
    from kiosk.hardware.feig import FeigReader
    from kiosk.hardware.mfrc522 import Mfrc522CardReader
    from kiosk.hardware.mfrc522_sim import FakeSpiDev, Mfrc522Sim

    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=_feig_server, args=(child,), daemon=True)
    proc.start()
    port = parent.recv()
    tag_reader = FeigReader(port, poll_interval=0.3)
    card_reader = Mfrc522CardReader(spi=FakeSpiDev(Mfrc522Sim(latency_s=0.001)), poll_interval=0.2)
    tag_reader.start()
    card_reader.start()
    time.sleep(1.0)
    try:
        assert [t.item_id for t in tag_reader.tags] == ["1000000056"], "FEIG driver did not read the tag"
        return cpu_percent(WINDOW_S)
    finally:
        tag_reader.close()
        card_reader.close()
        parent.send("stop")
        proc.join(5)


def measure_busy_wait(window: float = 3.0) -> float:
    from kiosk.hardware.mfrc522 import Mfrc522
    from kiosk.hardware.mfrc522_sim import FakeSpiDev, Mfrc522Sim

    chip = Mfrc522(FakeSpiDev(Mfrc522Sim()))
    chip.init()
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():     # SimpleMFRC522.read(): retry at once until a card answers
            chip.find_card()

    t = threading.Thread(target=spin, daemon=True)
    t.start()
    try:
        return cpu_percent(window)
    finally:
        stop.set()
        t.join(2)


def main() -> int:
    baseline = measure_busy_wait()
    sim = measure_sim_twins()
    real = measure_real_drivers()
    target = "<= 1 % of a core"
    records = [
        record("idle_cpu_sim_twins", sim, "%", baseline, target, sim <= 1.0),
        record("idle_cpu_real_drivers_on_protocol_sims", real, "%", baseline, target, real <= 1.0),
        record("busy_wait_baseline", baseline, "%", None, "reference", True),
    ]
    write_results("idle_cpu", records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
