"""UI benchmark: the kiosk never freezes, starts fast and stays small -- on x86 and on a Pi's CPU budget.

Measured in one run, each scenario in its own process (one Kivy app per process):

* the longest gap between frames during a transaction, against the same app sitting idle on the
  same screen (target, issue 19: <= 1.25x the idle app's longest gap), in these scenarios:
  - ``slow``: a 20-item stack with the library system answering after 500 ms;
  - ``hung``: a 20-item stack whose checkouts are swallowed by a proxy (8 s window);
  - ``stack``: a 20-item stack arriving at once, library answering at once (the densest burst
    of results the main thread can get);
  - ``theme``: a 20-item stack (100 ms per reply) with high contrast and large text switched on
    and off mid-session, as a patron does with the buttons on the top bar;
  - ``speech``: a 20-item stack (100 ms per reply) with speech on (kiosk/speech/, espeak-ng); where
    that package is missing the row says so and records ``met: null``;
* the kiosk's *own* main-thread time per frame in each scenario (bench/frames.py): the frame's
  wall time less the time Kivy's clock slept and less the time spent drawing and flipping
  (``Window.on_draw`` and ``on_flip``).  Here drawing is Mesa's llvmpipe -- software GL on the same two cores -- where a
  Pi draws on its GPU: when drawing is most of the longest frame, the row says so, and this
  figure (target: within the idle app's frame, x1.25) is the one that carries to a Pi;
* start-to-first-frame of ``kiosk run`` -- the command systemd starts, timed to the READY=1 it
  sends from its first frame (simulated hardware, the library system outside the process as in
  production) -- against a bare Kivy app with one label (target <= 1.2x);
* peak RSS (VmHWM) of the same two processes (target <= baseline + 50 MB).

Under ``bench/run_all.py --pi-class 4`` (``make bench PI_CLASS=4``) every kiosk and baseline
process runs in the calibrated, throttled control group; the demo library system (another
machine, in a library) does not.

``BENCH_UI_PROFILE=DIR`` writes a cProfile of the kiosk's main thread during each scenario's
window to ``DIR/<scenario>.prof`` (``python -m pstats``), the way the hot paths of issue 19 were found.

Everything renders headless (SDL offscreen + Mesa), so absolute numbers are for this machine;
the ratios are the point.  Run: ``.venv/bin/python bench/bench_ui.py [startup] [kvrules] [scenario ...]`` (default: all).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STACK = 20
STARTUP_RUNS = 21      # start-up is noisy on a shared 2-core VM: pairs vary 0.8x-1.9x, and the median of 11
# pairs moved 1.10x-1.27x (x86) and 0.96x-1.31x (Pi 4 class) between runs of the same code (2026-12-07)
# Each frame-gap scenario (the idle app included) runs this many times and the run with the median
# busiest-frame CPU is reported, all runs' figures beside it: this VM's CPU speed drifts by up to
# 2x from minute to minute (a 2 ms burst of calibrate.py measured 1.9 ms, then 3.8 ms), and a
# busiest frame is a maximum -- one run is one draw of it.
SCENARIO_RUNS = 3
SLOW_MS = 500
HUNG_WINDOW_S = 8.0
IDLE_WINDOW_S = 4.0
FAST_MS = 100          # the theme and speech scenarios: the circulation benchmark's 100 ms per reply
GAP_RATIO = 1.25       # issue 19: longest frame gap <= 1.25x the idle app's
STARTUP_RATIO = 1.2    # issue 19: start to first frame <= 1.2x bare Kivy
RENDER_DOMINATES = 0.5  # drawing is more than half of the busy part of the longest frame
SCENARIOS = {          # mode: (library latency ms, what a row calls it)
    "slow": (SLOW_MS, f"20 items, ILS {SLOW_MS} ms/reply"),
    "hung": (0, f"20 items, ILS hung ({HUNG_WINDOW_S:g} s)"),
    "stack": (0, "20 items at once, ILS instant"),
    "theme": (FAST_MS, f"20 items, contrast + large text toggled, ILS {FAST_MS} ms"),
    "speech": (FAST_MS, f"20 items, speech on, ILS {FAST_MS} ms"),
}


def _env() -> dict:
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy", KIVY_WINDOW="sdl2",
               KIVY_NO_ARGS="1", KIVY_NO_CONFIG="1", KIVY_NO_FILELOG="1", KIVY_NO_CONSOLELOG="1",
               KIVY_HOME=tempfile.mkdtemp(prefix="bench-kivy-"), PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    # Both apps start from compiled bytecode, as installed in production (pip compiles a package when
    # it installs it, Kivy included).  This machine sets PYTHONDONTWRITEBYTECODE and the kiosk is an
    # editable install, which would make only the kiosk recompile its modules at every start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _child(args: list[str], timeout: float = 240) -> dict:
    """Run a child scenario; it prints one JSON line.  Returns it plus wall time to 'first frame'."""
    t0 = time.perf_counter()
    from bench.common import ProcessWatch, RasterizerWatch, pi_group_preexec

    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=pi_group_preexec())
    # the bare app's start-up, like the kiosk's: its rasterizer stands in for a GPU (bench/common.py)
    watch = RasterizerWatch(proc.pid) if args[0] == "bare" else None
    # and espeak-ng, which the speech scenario's kiosk starts, on another Pi core (bench/common.py)
    speech = ProcessWatch(proc.pid, "espeak") if "speech" in args[1:] else None
    first_frame = None
    result = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("FIRST_FRAME") and first_frame is None:
            first_frame = time.perf_counter() - t0
        elif line.startswith("{"):
            result = json.loads(line)
    proc.wait(timeout=timeout)
    if proc.returncode != 0 or result is None:
        raise RuntimeError(f"child {args} failed ({proc.returncode}): {proc.stderr.read()[-3000:]}")
    result["first_frame_s"] = first_frame
    if watch is not None:
        result["rasterizer_threads_outside_quota"] = watch.stop()
    if speech is not None:
        result["speech_processes_on_another_core"] = speech.stop()
    return result


# ----------------------------------------------------------------------------- child processes
# What runs inside each measured process is in bench/ui_children.py.

def _kiosk_settings(data: Path, port: int):  # noqa: ANN202
    from kiosk import config as config_mod
    from kiosk.ui.harness import prepare_settings

    settings = config_mod.load(ROOT / "config" / "demo.toml")
    prepare_settings(settings, data_dir=data, overrides={"ils.host": "127.0.0.1", "ils.port": port,
                                                         "hardware.simulate": True})
    return settings


def _kiosk_run(port: int, tmp: Path) -> dict:
    """Start the kiosk exactly as systemd does (`kiosk run`, the console script) and time it to
    READY=1, which the kiosk sends from its first frame (kiosk/app.py _after_first_frame).

    Peak RSS is read from /proc one second after the first frame, as the bare app reports its own
    when it stops one second after its first frame."""
    data = Path(tempfile.mkdtemp(prefix="bench-run-", dir=tmp))
    notify = data / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    sock.settimeout(120)
    # The demo configuration, installed as the installer does (mode 0600: it holds the SIP2
    # password, and `kiosk run` refuses a config file other users can read).
    config = data / "kiosk.toml"
    config.write_bytes((ROOT / "config" / "demo.toml").read_bytes())
    config.chmod(0o600)
    from bench.common import RasterizerWatch, pi_group_preexec

    logo = (ROOT / "kiosk" / "assets" / "demo-logo.png").resolve()
    kiosk_exe = Path(sys.executable).with_name("kiosk")
    cmd = [str(kiosk_exe)] if kiosk_exe.exists() else [sys.executable, "-m", "kiosk"]
    cmd += ["run", "--config", str(config), "--set", f"branding.logo={logo}", "--set", "ils.host=127.0.0.1",
            "--set", f"ils.port={port}", "--set", "hardware.simulate=true", "--set", "kiosk.fullscreen=false",
            "--set", f"storage.data_dir={data}"]
    env = dict(_env(), NOTIFY_SOCKET=str(notify))
    log = data / "kiosk.log"               # a file, not a pipe nobody reads while the kiosk runs
    with log.open("w") as log_file:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log_file,
                                preexec_fn=pi_group_preexec())
    watch = RasterizerWatch(proc.pid)      # as for bare Kivy (_child): a GPU draws on a Pi
    try:
        while True:
            try:
                msg = sock.recv(4096).decode()
            except TimeoutError:
                raise RuntimeError(f"kiosk run sent no READY=1: {log.read_text()[-3000:]}") from None
            if "READY=1" in msg.split("\n"):
                first_frame = time.perf_counter() - t0
                break
        time.sleep(1.0)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss = next(int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:"))
    finally:
        moved = watch.stop()
        proc.terminate()                   # SIGTERM: the kiosk stops cleanly (as under systemd)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        sock.close()
    return {"first_frame_s": first_frame, "peak_rss_mb": rss, "rasterizer_threads_outside_quota": moved}


def _speech_available() -> str:
    """"" when kiosk/speech/ (espeak-ng) can be switched on here, else why not."""
    import importlib.util
    import shutil

    spec = importlib.util.find_spec("kiosk.speech")
    if spec is None or spec.origin is None:          # absent, or a leftover folder with no package in it
        return "kiosk.speech not in this tree (issue 14's speech output)"
    from kiosk import config as config_mod

    if not hasattr(config_mod.Settings(), "speech"):
        return "no [speech] section in kiosk.config"
    if shutil.which("espeak-ng") is None:
        return "espeak-ng not installed (scripts/sysdeps.sh installs it)"
    return ""


# ----------------------------------------------------------------------------- helpers (parent)
class SwallowCheckouts:
    """A TCP proxy in front of the demo library that never forwards checkouts: a hung ILS."""

    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _pipe(self, src, dst, swallow):  # noqa: ANN001
        try:
            while data := src.recv(65536):
                if swallow and data.startswith(b"11"):
                    continue
                dst.sendall(data)
        except OSError:
            pass

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pipe, args=(client, up, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(up, client, False), daemon=True).start()

    def close(self) -> None:
        self.listener.close()


def _median_run(runs: list[dict]) -> dict:
    """The run with the median busiest-frame CPU, with every run's busiest-frame CPU and longest
    gap beside it (``runs_cpu_max_ms``, ``runs_max_gap_ms``); the longest and median gaps are
    the medians over the runs."""
    ordered = sorted(runs, key=lambda r: r["kiosk_cpu_max_ms"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["runs_cpu_max_ms"] = [round(r["kiosk_cpu_max_ms"], 2) for r in runs]
    chosen["runs_max_gap_ms"] = [round(r["max_gap_ms"], 1) for r in runs]
    chosen["max_gap_ms"] = statistics.median(r["max_gap_ms"] for r in runs)
    gap_run = sorted(runs, key=lambda r: r["max_gap_ms"])[len(runs) // 2]     # the run of that median gap
    for key, missing in (("longest", {}), ("longest5", []), ("llvmpipe_cpu_per_drawn_frame_ms", None)):
        chosen[key] = gap_run.get(key, missing)
    chosen["median_gap_ms"] = statistics.median(r["median_gap_ms"] for r in runs)
    return chosen


def class_factor() -> float:
    """What turns the kiosk's thread CPU time per frame, as measured in this run, into the CPU
    class's: 1 unthrottled; in a Pi-class run (bench/run_all.py --pi-class) the calibration's
    slowdown divided by how much larger a short burst's thread CPU time is inside the throttled
    group than outside (bench/calibrate.py --bursts: the quota's stalls leave caches cold, so
    CPU time measured there is already partly "slower" -- multiplying it by the whole slowdown
    counted that part twice)."""
    calibration = os.environ.get("KIOSK_BENCH_CALIBRATION")
    if not calibration:
        return 1.0
    from bench.piclass import cpu_inflation

    cal = json.loads(calibration)
    return float(cal["reached"]) / cpu_inflation(cal.get("burst_cpu_unthrottled_s", 0.0),
                                                 cal.get("burst_cpu_throttled_s", 0.0))


def _gap_records(mode: str, label: str, res: dict, idle: dict) -> list[dict]:
    """The rows of a scenario: the longest frame gap as a patron sees it here; the kiosk's own
    main-thread time per frame (wall, drawing excluded: llvmpipe here, a GPU on a Pi); its busiest
    frame's CPU at the CPU class's speed (the verdict that carries to a Pi); its CPU in all."""
    from bench.common import record

    idle_gap = idle["max_gap_ms"]
    gap, longest = res["max_gap_ms"], res.get("longest", {})
    rows = [record(f"max_frame_gap {label}", gap, "ms", idle_gap, f"<= {GAP_RATIO:g}x idle app",
                   gap <= GAP_RATIO * idle_gap)]
    share = longest.get("drawing_share", 0.0)
    if share > RENDER_DOMINATES:
        note = (f"software rendering (llvmpipe) dominates: {longest['drawing_ms']:.1f} ms of the longest frame's "
                f"{longest['drawing_ms'] + longest['kiosk_main_ms']:.1f} ms beyond the clock's sleep is drawing "
                f"({longest['render_ms']:.1f} ms in on_draw/on_flip, "
                f"{longest['drawing_ms'] - longest['render_ms']:.1f} ms ready to run while other threads held both "
                f"cores: llvmpipe's rasterizer took {res.get('llvmpipe_cpu_per_drawn_frame_ms', 0):.0f} ms of CPU "
                "per drawn frame in this run); see the kiosk main-thread row")
        rows[0]["note"] = note
        print(f"{mode}: {note}", file=sys.stderr)
    rows[0]["longest_frame"] = longest
    # Pi-class runs: Mesa's rasterizer threads outside the quota, standing in for a Pi's GPU
    # (bench/common.py rasterizer_outside_group); 0 or absent: drawing was throttled too
    rows[0]["rasterizer_threads_outside_quota"] = res.get("rasterizer_threads_outside_quota", 0)
    if "speech_processes_on_another_core" in res:    # Pi-class speech: espeak-ng on another Pi core
        rows[0]["speech_processes_on_another_core"] = res["speech_processes_on_another_core"]
    main_ms = res["kiosk_main_max_ms"]
    rows.append(record(f"kiosk main-thread ms/frame (max) {label}", main_ms, "ms", idle_gap,
                       f"<= {GAP_RATIO:g}x idle gap, no drawing", main_ms <= GAP_RATIO * idle_gap))
    rows[-1].update(p95_ms=res["kiosk_main_p95_ms"], idle_app_max_ms=idle["kiosk_main_max_ms"])
    # The verdict that carries to a Pi (issue 19: "where software rendering dominates, report the
    # kiosk's own main-thread time per frame"), drawing left out (llvmpipe on the CPU here, the GPU
    # on a Pi): the kiosk's CPU in its busiest frame at the class's speed -- x1 here; in a Pi-class
    # run, x the slowdown the calibration measured, less the part of it the thread's CPU time
    # already carries inside the group (class_factor) -- against 1.25x the idle app's frame interval (its median gap: Kivy's fps cap).  Not
    # the idle app's longest gap: in a Pi-class run that one holds the quota's throttling stalls
    # (62.9 ms with 0.4 ms of CPU in a run of docs/benchmarks-pi-class.md), which a Pi does not have.
    factor = class_factor()
    frame = idle.get("median_gap_ms") or idle_gap
    scaled = res["kiosk_cpu_max_ms"] * factor
    rows.append(record(f"kiosk main-thread CPU ms, busiest frame, at the class's speed {label}", scaled, "ms",
                       frame, f"<= {GAP_RATIO:g}x idle app's frame interval, no drawing",
                       scaled <= GAP_RATIO * frame))
    rows[-1].update(cpu_max_frame_ms=res["kiosk_cpu_max_ms"], class_factor=factor,
                    cpu_top5_frames_ms=res.get("kiosk_cpu_top5_ms"), runs_cpu_max_ms=res.get("runs_cpu_max_ms"))
    # CPU time of the main thread (thread_time): not inflated by the other work on a shared machine
    # nor by GIL waits, so it is the before/after figure for a change to the kiosk's own code.
    rows.append(record(f"kiosk main-thread CPU ms, whole transaction {label}", res["kiosk_cpu_total_ms"], "ms",
                       None, "report (before/after)", None, why="report: CPU time, drawing excluded"))
    rows[-1].update(cpu_max_frame_ms=res["kiosk_cpu_max_ms"], text_layouts=res.get("text_layouts"))
    return rows


def main(argv: list[str] | None = None) -> int:
    import compileall

    from bench.common import record, write_results
    from kiosk.demo_ils.server import DemoIlsServer

    argv = sys.argv[1:] if argv is None else argv
    wanted = [m for m in argv if m in SCENARIOS] if argv else list(SCENARIOS)
    startup = not argv or "startup" in argv
    tmp = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    records = []
    compileall.compile_dir(str(ROOT / "kiosk"), quiet=1)   # see _env(): bytecode as after an install
    # and the kv files' parse kept, as systemd/install.sh does after pip (kiosk/ui/kvcache.py)
    subprocess.run([sys.executable, "-m", "kiosk.ui.kvcache"], env=_env(), check=True, stdout=subprocess.DEVNULL)

    # start-up and memory: bare Kivy vs the kiosk (library system outside the process)
    if startup:
        with DemoIlsServer(tmp / "startup.sqlite3", reset=True) as server:
            bare, kiosk, bare_kept = [], [], []
            for _ in range(STARTUP_RUNS):      # interleaved, so machine load hits all alike
                bare.append(_child(["bare"]))
                kiosk.append(_kiosk_run(server.port, tmp))
                bare_kept.append(_child(["bare", "kept-style"]))
        bare_start = statistics.median(r["first_frame_s"] for r in bare)
        kiosk_start = statistics.median(r["first_frame_s"] for r in kiosk)
        spread = sorted(k["first_frame_s"] / b["first_frame_s"] for k, b in zip(kiosk, bare, strict=True))
        print(f"start-up ratio of each interleaved pair: {', '.join(f'{r:.2f}' for r in spread)}", file=sys.stderr)
        records.append(record(f"start_to_first_frame (median of {STARTUP_RUNS})", kiosk_start, "s", bare_start,
                              f"<= {STARTUP_RATIO:g}x bare Kivy", kiosk_start <= STARTUP_RATIO * bare_start))
        # Pi-class runs: the rasterizer threads each start moved out of the quota (kiosk, bare Kivy)
        records[-1]["rasterizer_threads_outside_quota"] = [
            statistics.median(r.get("rasterizer_threads_outside_quota", 0) for r in side) for side in (kiosk, bare)]
        # The kiosk reads Kivy's own style.kv parse back (kiosk/ui/kvcache.py), which bare Kivy
        # parses at every start: against a bare Kivy that does the same, what the kiosk's own work costs.
        kept_start = statistics.median(r["first_frame_s"] for r in bare_kept)
        records.append(record("start_to_first_frame vs bare Kivy with style.kv kept too", kiosk_start, "s",
                              kept_start, "report", None,
                              why="report: the kiosk's own start-up work, apart from the parse it saves Kivy"))
        bare_rss = max(r["peak_rss_mb"] for r in bare)
        kiosk_rss = max(r["peak_rss_mb"] for r in kiosk)
        records.append(record("peak_rss", kiosk_rss, "MB", bare_rss, "<= bare + 50 MB", kiosk_rss <= bare_rss + 50))

    # kv rule evaluation: kiosk.ui.fastkv against Kivy's own call_fn (issue 19, item 3)
    if startup or "kvrules" in argv:
        kv = _child(["kvrules"])
        # what fastkv is for: with one screen of three shown, the hidden screens' rules wait
        records.append(record("kv rules, CPU for 40 changes, 1 of 3 screens shown: fastkv vs Kivy's call_fn",
                              kv["fastkv_total_ms"], "ms", kv["kivy_total_ms"], "< Kivy's",
                              kv["fastkv_total_ms"] < kv["kivy_total_ms"]))
        # what it costs: asking which screen a rule's widget is on, less Kivy's trace formatting
        records.append(record("kv rule evaluation on a shown screen, CPU each: fastkv vs Kivy's call_fn",
                              kv["fastkv_per_evaluation_us"], "us", kv["kivy_per_evaluation_us"], "report",
                              None, why="report: the price of the screen check, per evaluation"))

    # frame gaps: the idle app first (the baseline), then each transaction
    speech_missing = _speech_available()
    results = {}
    for mode in ["idle", *wanted] if wanted else []:
        latency = 0 if mode == "idle" else SCENARIOS[mode][0]
        if mode == "speech" and speech_missing:
            print(f"speech: not measured: {speech_missing}", file=sys.stderr)
            continue
        runs = []
        for run in range(SCENARIO_RUNS):
            db = tmp / f"{mode}-{run}.sqlite3"
            with DemoIlsServer(db, latency_ms=latency, reset=True) as server:
                port = server.port
                proxy = SwallowCheckouts(port) if mode == "hung" else None
                os.environ["BENCH_DB"] = str(db)
                runs.append(_child(["stack", str(proxy.port if proxy else port), mode]))
                if proxy:
                    proxy.close()
        results[mode] = _median_run(runs)
        print(f"{mode}: {json.dumps(results[mode])}", file=sys.stderr)
    idle = results.get("idle", {})
    for mode in wanted:
        label = SCENARIOS[mode][1]
        if mode in results:
            records += _gap_records(mode, label, results[mode], idle)
        else:
            for metric in (f"max_frame_gap {label}", f"kiosk main-thread ms/frame (max) {label}"):
                records.append(record(metric, None, "ms", idle["max_gap_ms"], f"<= {GAP_RATIO:g}x idle app",
                                      None, why=speech_missing))
    write_results("ui", records)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        from bench import ui_children

        kind = sys.argv[2]
        if kind == "bare":
            ui_children.bare(kept_style="kept-style" in sys.argv[3:])
        elif kind == "kvrules":
            ui_children.kvrules()
        else:
            ui_children.stack(int(sys.argv[3]), sys.argv[4])
        sys.exit(0)
    sys.exit(main())
