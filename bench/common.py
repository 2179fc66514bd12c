"""Shared helpers for benchmarks: every result is a metric beside a baseline measured in the same run."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_class() -> str:
    """"x86" (this machine as it is) or "pi4"/"pi5" under bench/run_all.py --pi-class (bench/piclass.py)."""
    return os.environ.get("KIOSK_BENCH_CPU_CLASS", "x86")


def class_slowdown() -> float:
    """How many times slower this run's CPU is than the machine's own: the calibrated slowdown in a
    Pi-class run (bench/run_all.py --pi-class), 1.0 otherwise.  For allowances that are CPU time."""
    calibration = os.environ.get("KIOSK_BENCH_CALIBRATION")
    return float(json.loads(calibration).get("reached", 1.0)) if calibration else 1.0


PI_GROUP_ENV = "KIOSK_BENCH_CGROUP_PROCS"   # set by bench/run_all.py --pi-class: the group's cgroup.procs
PI_CORE2_ENV = "KIOSK_BENCH_CGROUP_CORE2_PROCS"   # and another Pi core's (bench/piclass.py another_core)


def join_pi_group(pid: int | None = None) -> bool:
    """Put this process (or ``pid``) into the Pi-class group, if a Pi-class run made one.

    bench/run_all.py no longer moves itself into the group: each benchmark decides what runs on the
    Pi's budget.  The kiosk and its baseline do; the library system a kiosk talks to does not (it is
    another machine in a library), so the UI benchmark's demo library stays outside."""
    procs = os.environ.get(PI_GROUP_ENV)
    if not procs:
        return False
    with open(procs, "w") as f:
        f.write(str(pid or os.getpid()))
    return True


RASTERIZER_PREFIX = "llvmpipe"      # Mesa's software rasterizer threads: llvmpipe-0, llvmpipe-1, ...


def rasterizer_outside_group(task_dir: Path = Path("/proc/self/task")) -> int:
    """In a Pi-class run, move this process's llvmpipe rasterizer threads out of the throttled
    group (a cgroup v1 ``tasks`` file takes one thread at a time); returns how many moved.

    A Pi draws on its GPU.  Here Mesa's llvmpipe rasterizes on the CPU, in threads the kiosk's
    main thread starts when it opens its GL context -- inside the group, so the quota throttled
    the pixels too, frames lasted 2-4 times the Pi's, and each frame gathered several frames' worth
    of the kiosk's work.  Outside the quota the rasterizer stands in for the GPU; the main thread
    (the GL calls and their driver work included), the kiosk's other threads and the baseline app's
    stay inside.  0 in an x86 run, or where threads cannot be moved apart (cgroup v2's default,
    non-threaded, groups)."""
    root_tasks = _root_tasks()
    return len(_move_rasterizers(task_dir, root_tasks)) if root_tasks is not None else 0


def _root_tasks() -> Path | None:
    """The root group's ``tasks`` file in a Pi-class run on cgroup v1, else None."""
    procs = os.environ.get(PI_GROUP_ENV)
    root_tasks = Path(procs).parent.parent / "tasks" if procs else None
    return root_tasks if root_tasks is not None and root_tasks.exists() else None


def _move_rasterizers(task_dir: Path, root_tasks: Path, skip: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Write each llvmpipe thread of ``task_dir`` not in ``skip`` to ``root_tasks`` (one tid per
    write, as the kernel takes them); the tids moved."""
    moved = []
    for task in sorted(task_dir.iterdir()):
        if task.name in skip:
            continue
        try:
            if (task / "comm").read_text().startswith(RASTERIZER_PREFIX):
                root_tasks.write_text(task.name)
                moved.append(task.name)
        except OSError:             # the thread ended meanwhile
            continue
    return moved


class _ChildWatch:
    """A daemon thread of this (the benchmark's) process that calls :meth:`_poll` every 2 ms while
    a child runs, until the child has ended or :meth:`stop`: the two watches below move a child's
    threads or processes between groups as they appear, where the child runs no benchmark code.
    ``moved``: what left the group (``_poll`` adds to it)."""

    def __init__(self, enabled: bool, name: str) -> None:
        self._moved: set = set()
        self._stop = False
        self._thread = None
        if enabled:
            import threading

            self._thread = threading.Thread(target=self._watch, name=name, daemon=True)
            self._thread.start()

    @property
    def moved(self) -> int:
        return len(self._moved)

    def _poll(self) -> None:
        raise NotImplementedError

    def _watch(self) -> None:
        while not self._stop:
            try:
                self._poll()
            except OSError:             # the child has ended
                return
            time.sleep(0.002)

    def stop(self) -> int:
        self._stop = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        return self.moved


class RasterizerWatch(_ChildWatch):
    """While a child starts, move its llvmpipe threads out of the Pi-class group as they appear
    (:func:`rasterizer_outside_group` on the child's tasks, every 2 ms, from this process: the
    child runs no benchmark code -- ``kiosk run`` as systemd starts it).  Used for the start-up
    pairs, kiosk and bare Kivy alike: Mesa starts the rasterizer when the window's GL context is
    made, and the first frame is drawn a build later, so it is outside before it draws.  Without
    it the first frame's pixels ran on the Pi's CPU budget -- the kiosk's full home screen against
    bare Kivy's one label -- where the frame benchmarks already give them to a stand-in GPU.
    A no-op in an x86 run.  ``moved``: how many threads left the group."""

    def __init__(self, pid: int, task_dir: Path | None = None) -> None:
        self._task_dir = task_dir or Path(f"/proc/{pid}/task")
        self._root_tasks = _root_tasks()
        super().__init__(self._root_tasks is not None, "rasterizer-watch")

    def _poll(self) -> None:
        self._moved.update(_move_rasterizers(self._task_dir, self._root_tasks, self._moved))  # type: ignore[arg-type]


class ProcessWatch(_ChildWatch):
    """While a child runs, move the programs it starts whose name begins with ``prefix`` to another
    Pi core's group (bench/piclass.py ``another_core``), polling its threads' ``children`` every
    2 ms from this process.  For espeak-ng in the speech scenario: a Pi 4 has four cores, and the
    synthesiser the kiosk starts runs on one the kiosk's main thread is not using; in the kiosk's
    one-core group it ate that core's quota, and the whole group -- main thread included -- stood
    throttled until the next period.  It keeps a Pi core's speed there.  A no-op in an x86 run.
    ``moved``: how many processes left the kiosk's group."""

    def __init__(self, pid: int, prefix: str, proc: Path = Path("/proc")) -> None:
        self._pid, self._prefix, self._proc = pid, prefix, proc
        target = os.environ.get(PI_CORE2_ENV)
        self._target = Path(target) if target else None
        super().__init__(self._target is not None and self._target.exists(), "process-watch")

    def _children(self) -> list[int]:
        pids: list[int] = []
        for task in (self._proc / str(self._pid) / "task").iterdir():
            try:
                pids.extend(int(p) for p in (task / "children").read_text().split())
            except OSError:          # a thread that ended meanwhile
                continue
        return pids

    def _poll(self) -> None:
        for pid in self._children():
            if pid in self._moved:
                continue
            try:        # right after fork it is still "python": it is looked at again next time
                if (self._proc / str(pid) / "comm").read_text().startswith(self._prefix):
                    self._target.write_text(str(pid))  # type: ignore[union-attr]
                    self._moved.add(pid)
            except OSError:      # ended already
                continue


def pi_group_preexec():  # noqa: ANN201 - a callable for subprocess' preexec_fn, or None
    """``preexec_fn`` that puts a child into the Pi-class group before it execs (None in an x86 run)."""
    if not os.environ.get(PI_GROUP_ENV):
        return None
    return join_pi_group


def results_dir() -> Path:
    """bench/results/ for the unthrottled run, bench/results/pi4/ (pi5/) for a Pi-class run."""
    cls = cpu_class()
    return RESULTS if cls == "x86" else RESULTS / cls


def record(metric: str, value: float | None, unit: str, baseline: float | None, target: str,
           met: bool | None, why: str | None = None) -> dict:
    """One result row.  ``ratio`` is value / baseline (None without a baseline).

    ``met`` is None when the comparison could not be made (a peer missing, say); ``why`` then says
    why, and the tables print it instead of a verdict: a skipped comparison is never a silent pass.
    """
    ratio = (value / baseline) if (baseline and value is not None) else None
    row = {"metric": metric, "value": None if value is None else round(value, 6), "unit": unit,
           "baseline": None if baseline is None else round(baseline, 6),
           "ratio": None if ratio is None else round(ratio, 4), "target": target,
           "met": None if met is None else bool(met), "cpu_class": cpu_class()}
    if why:
        row["why"] = why
    return row


def write_results(name: str, records: list[dict]) -> Path:
    """Write ``bench/results/NAME.json`` (``results/pi4/NAME.json`` in a Pi-class run) and print a table."""
    out = results_dir()
    out.mkdir(parents=True, exist_ok=True)
    calibration = os.environ.get("KIOSK_BENCH_CALIBRATION")
    if calibration:
        for r in records:
            r.setdefault("calibration", json.loads(calibration))
    path = out / f"{name}.json"
    path.write_text(json.dumps(records, indent=2) + "\n")
    print_table(name, records)
    return path


def print_table(name: str, records: list[dict]) -> None:
    print(f"\n== {name}")
    print(f"{'metric':<44} {'value':>12} {'unit':<6} {'baseline':>12} {'ratio':>8}  {'target':<18} met")
    for r in records:
        base = "" if r["baseline"] is None else f"{r['baseline']:.4g}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.3f}"
        value = "" if r["value"] is None else f"{r['value']:.4g}"
        verdict = "n/a: " + r.get("why", "not measured") if r["met"] is None else ("yes" if r["met"] else "NO")
        print(f"{r['metric']:<44} {value:>12} {r['unit']:<6} {base:>12} {ratio:>8}  "
              f"{r['target']:<18} {verdict}")


def timed(fn: Callable[[], object], repeat: int = 1) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn``."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation."""
    if len(values) == 1:
        return values[0]
    q = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return q[max(0, min(98, int(round(p)) - 1))]
