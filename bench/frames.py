"""Frame accounting for bench/bench_ui.py (issue 19): where each frame's time went, on Kivy's main thread.

A frame gap here is the sum of three things a Pi shares out differently: the clock's sleep (the fps
cap), GL drawing (Mesa's llvmpipe on this machine's CPU; a GPU on a Pi) and the kiosk's own work.
:class:`FrameMeter` measures each apart, in wall time and in the thread's CPU time.
"""

from __future__ import annotations

import time

KEEP_WORST = 5          # profiles of the busiest frames kept (BENCH_UI_PROFILE)


class FrameMeter:
    """Per frame (one ``EventLoop.idle``): wall time since the last frame, the time Kivy's clock slept
    (the fps cap), the time spent drawing and flipping (GL: llvmpipe here, a GPU on a Pi), and,
    inside drawing, the time SDL_ttf spent rasterising label text.

    Kivy fills a changed label's texture lazily, when the texture is first bound during drawing
    (``LabelBase._texture_fill``): the glyph rasterising is CPU work a Pi does on its CPU too, so
    it counts as the kiosk's; the upload of the pixels into the GL texture stays with drawing.  The kiosk's own main-thread time is then the wall
    time less sleep less GL drawing: Clock callbacks, property events, kv rules, layout, text
    rasterising, and any wait for the GIL behind the kiosk's worker threads.

    With ``profile=True`` each frame is profiled on its own (CPU time) and the profiles of the
    frames with the most main-thread CPU of the kiosk's own are kept (``worst_profiles``, busiest
    first): the work that becomes the longest stall on a slower CPU, not an average over the window."""

    def __init__(self, profile: bool = False) -> None:
        self.frames: list[tuple[float, float, float, float]] = []    # (wall, sleep, GL drawing, text) s
        self.recording = False
        self.profile = profile
        self.worst_profiles: list = []      # (own CPU s, frame index, profile), busiest first
        self.profiles: list = []
        self.text_layouts = 0               # label texts laid out (kivy.core.text LabelBase.refresh)
        self.cpu: list[float] = []          # per frame: the kiosk's own main-thread CPU time (thread_time)
        self._render_cpu = self._text_cpu = 0.0
        self._sleep = self._render = self._text = self._wake = self._render_q = 0.0
        self._last = 0.0
        # per frame (s): the main thread's run-queue wait inside the clock's sleep (its wake-up), inside
        # drawing, and in all
        self.sched: list[tuple[float, float, float]] = []
        self._raster0 = 0.0
        self._sched = _Schedstat()

    def install(self) -> None:
        from kivy.base import EventLoop
        from kivy.clock import Clock
        from kivy.core.text import Label as CoreLabel
        from kivy.core.window import Window

        clock_idle, loop_idle = Clock.idle, EventLoop.idle
        win_cls = type(Window)
        meter = self

        def timed_clock_idle():  # noqa: ANN202
            t0, q0 = time.perf_counter(), meter._sched.main_wait()
            try:
                return clock_idle()
            finally:
                meter._sleep += time.perf_counter() - t0
                meter._wake += meter._sched.main_wait() - q0   # ready to run, woken, no CPU free

        def timed(cls, name, slot):  # noqa: ANN001,ANN202
            fn = getattr(cls, name)

            drawing = slot == "_render"

            def wrapper(self, *a, **kw):  # noqa: ANN001,ANN202
                t0, c0 = time.perf_counter(), time.thread_time()
                q0 = meter._sched.main_wait() if drawing else 0.0
                try:
                    return fn(self, *a, **kw)
                finally:
                    setattr(meter, slot, getattr(meter, slot) + time.perf_counter() - t0)
                    cpu = slot + "_cpu"
                    setattr(meter, cpu, getattr(meter, cpu) + time.thread_time() - c0)
                    if drawing:         # run-queue wait already inside the drawing time
                        meter._render_q += meter._sched.main_wait() - q0
            setattr(cls, name, wrapper)

        def timed_loop_idle():  # noqa: ANN202
            meter._sleep = meter._render = meter._text = meter._render_cpu = meter._text_cpu = meter._wake = meter._render_q = 0.0
            c0 = time.thread_time()
            prof = None
            if meter.recording and meter.profile:
                import cProfile

                prof = cProfile.Profile(time.thread_time)     # CPU: what the thread computed, not waits
                prof.enable()
            try:
                return loop_idle()
            finally:
                now = time.perf_counter()
                if prof is not None:
                    prof.disable()
                if meter.recording:
                    wall = now - meter._last
                    meter.frames.append((wall, meter._sleep, meter._render - meter._text, meter._text))
                    own = time.thread_time() - c0 - (meter._render_cpu - meter._text_cpu)   # kiosk CPU
                    meter.cpu.append(own)
                    meter.sched.append((meter._wake, meter._render_q, meter._sched.main_wait_delta()))
                    if prof is not None:
                        meter.profiles.append(prof)
                        meter.worst_profiles.append((own, len(meter.cpu) - 1, prof))
                        meter.worst_profiles.sort(key=lambda w: -w[0])
                        del meter.worst_profiles[KEEP_WORST:]
                meter._last = now

        Clock.idle = timed_clock_idle
        EventLoop.idle = timed_loop_idle
        timed(win_cls, "on_draw", "_render")
        timed(win_cls, "on_flip", "_render")
        # Text rasterised by SDL_ttf while a label's texture is filled mid-draw: the kiosk's CPU
        # work, taken out of "drawing".  (The GL upload of the pixels stays with drawing.)
        for name in ("_render_begin", "_render_text", "_render_end"):
            timed(CoreLabel, name, "_text")
        refresh = CoreLabel.refresh

        def counted_refresh(label):  # noqa: ANN001,ANN202 - one full layout of a label's text
            if meter.recording:
                meter.text_layouts += 1
            return refresh(label)
        CoreLabel.refresh = counted_refresh

    def start(self) -> None:
        self.frames.clear()
        self.cpu.clear()
        self.sched.clear()
        self._sched.main_wait_delta()
        self._raster0 = self._sched.raster_cpu()
        self.text_layouts = 0
        self._last = time.perf_counter()
        self.recording = True

    def split(self, i: int) -> dict:
        """Frame ``i`` taken apart (ms): the clock's sleep as asked (the fps cap; the wait to be
        given a CPU when it ends is not the cap's), drawing -- the time in ``on_draw``/``on_flip``
        plus the time the main thread stood ready to run while other threads held both cores,
        llvmpipe's above all (``llvmpipe_cpu_per_drawn_frame_ms`` says how much they took) -- and
        the kiosk's own main-thread time, the rest."""
        wall, sleep, render, text = self.frames[i]
        wake, in_render, queued = self.sched[i] if i < len(self.sched) else (0.0, 0.0, 0.0)
        asked = max(sleep - wake, 0.0)
        # what drawing's own wall time does not hold already (the kernel books a wait when the
        # thread gets a CPU back, so a read around on_draw/on_flip can hold more than their wall)
        cpu_wait = max(queued - min(in_render, render), 0.0)
        busy = max(wall - asked, 1e-9)
        drawing = min(render + cpu_wait, busy)
        return {"wall_ms": wall * 1000, "sleep_ms": asked * 1000, "render_ms": render * 1000,
                "text_ms": text * 1000, "runqueue_wait_ms": queued * 1000,
                "drawing_ms": drawing * 1000, "kiosk_main_ms": (busy - drawing) * 1000,
                "drawing_share": drawing / busy,
                "kiosk_cpu_ms": self.cpu[i] * 1000 if i < len(self.cpu) else None}

    def stop(self) -> dict:
        self.recording = False
        if not self.frames:
            return {"max_gap_ms": float("inf"), "frames": 0}
        by_gap = sorted(range(len(self.frames)), key=lambda i: -self.frames[i][0])
        main = sorted(self.split(i)["kiosk_main_ms"] for i in range(len(self.frames)))
        gaps = sorted(w for w, *_r in self.frames)
        return {"max_gap_ms": gaps[-1] * 1000, "frames": len(self.frames),
                "median_gap_ms": gaps[len(gaps) // 2] * 1000,
                "longest": self.split(by_gap[0]),
                "longest5": [{k: round(v, 2) for k, v in self.split(i).items() if v is not None} for i in by_gap[:5]],
                "kiosk_main_max_ms": main[-1],
                "kiosk_main_p95_ms": main[min(len(main) - 1, int(0.95 * len(main)))],
                "render_max_ms": max(r for _w, _s, r, _t in self.frames) * 1000,
                "text_total_ms": sum(t for *_x, t in self.frames) * 1000,
                # CPU time, not wall: what this thread itself computed (no GIL waits, no other
                # processes on this shared machine), drawing excluded -- the steadiest figure here
                "kiosk_cpu_max_ms": max(self.cpu) * 1000, "kiosk_cpu_total_ms": sum(self.cpu) * 1000,
                "kiosk_cpu_top5_ms": [round(c * 1000, 2) for c in sorted(self.cpu, reverse=True)[:5]],
                "text_layouts": self.text_layouts,
                # llvmpipe's rasterizer threads, over the window: their CPU per frame that drew
                "llvmpipe_cpu_per_drawn_frame_ms": (self._sched.raster_cpu() - self._raster0) * 1000
                / max(1, sum(1 for f in self.frames if f[2] > 0))}


class _Schedstat:
    """The scheduler's own accounting (``/proc/self/task/<tid>/schedstat``: ns on a CPU, ns ready
    to run but waiting for one): how long Kivy's main thread stood ready while other threads held
    the CPUs, and how much CPU Mesa's llvmpipe rasterizer threads took -- on a Pi the GPU's work,
    here a competitor for the same two cores (llvmpipe rasterizes a frame in its own threads,
    after ``on_flip`` has returned).  Zeros where the kernel keeps no schedstat.

    The fields are the kernel's (Documentation/scheduler/sched-stats.rst: "time spent on the cpu
    (in nanoseconds)", "time spent waiting on a runqueue (in nanoseconds)"); the wait is added when
    the thread is given a CPU again (kernel/sched/stats.h ``sched_info_arrive``)."""

    def __init__(self) -> None:
        import os
        import threading

        self._main: int | None = None
        self._raster: list[int] = []
        self._last: float | None = None
        task = "/proc/self/task"
        try:
            self._main = os.open(f"{task}/{threading.main_thread().native_id}/schedstat", os.O_RDONLY)
        except OSError:
            return
        for tid in os.listdir(task):
            try:                        # a short-lived worker thread may be gone by now
                with open(f"{task}/{tid}/comm") as comm:
                    if comm.read().startswith("llvmpipe"):
                        self._raster.append(os.open(f"{task}/{tid}/schedstat", os.O_RDONLY))
            except OSError:
                continue

    @staticmethod
    def _fields(fd: int) -> tuple[int, int]:
        import os

        try:
            run, queued = os.pread(fd, 100, 0).split()[:2]
            return int(run), int(queued)
        except (OSError, ValueError):
            return 0, 0

    def main_wait(self) -> float:
        """The main thread's run-queue wait so far (s)."""
        return self._fields(self._main)[1] / 1e9 if self._main is not None else 0.0

    def main_wait_delta(self) -> float:
        """The main thread's run-queue wait since the last call (s)."""
        now = self.main_wait()
        last, self._last = self._last, now
        return 0.0 if last is None else now - last

    def raster_cpu(self) -> float:
        """CPU the llvmpipe threads have taken so far (s).  Their own counters move at the
        kernel's ticks and switches, so only sums over many frames are read."""
        return sum(self._fields(fd)[0] for fd in self._raster) / 1e9
