"""What runs inside each process bench/bench_ui.py measures (``bench_ui.py --child KIND ...``).

``bare``: a bare Kivy app with one label (the start-up and memory baseline); ``kvrules``: kv rule
evaluation with Kivy's ``call_fn`` against kiosk.ui.fastkv's; ``stack``: the real kiosk borrowing
a 20-item stack (or sitting idle) while bench/frames.py records every frame.  Each prints one
JSON line for the parent.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

from bench.bench_ui import HUNG_WINDOW_S, IDLE_WINDOW_S, STACK, _kiosk_settings
from bench.common import rasterizer_outside_group


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bare(kept_style: bool = False) -> None:
    """Kivy with one label.  ``kept_style``: with Kivy's style.kv read back instead of parsed, as
    the kiosk does (kiosk/ui/kvcache.py) -- what the kiosk's own work costs over Kivy's, apart
    from what it saves Kivy."""
    if kept_style:
        from kiosk.ui import kvcache

        kvcache.install()
    from kivy.config import Config

    Config.set("graphics", "width", "800")
    Config.set("graphics", "height", "480")
    Config.set("graphics", "maxfps", "30")
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.uix.label import Label

    class Bare(App):
        def build(self):
            Window.bind(on_flip=self.flipped)
            return Label(text="hello")

        def flipped(self, *_a):
            Window.unbind(on_flip=self.flipped)
            print("FIRST_FRAME", flush=True)
            Clock.schedule_once(lambda _dt: self.stop(), 1.0)

    Bare().run()
    print(json.dumps({"peak_rss_mb": _peak_rss_mb()}), flush=True)


def kvrules() -> None:
    """kv rule evaluation: Kivy's own ``call_fn`` against kiosk.ui.fastkv's, in one process.

    Screens of 100 widgets with three kv rules each in a ScreenManager (NoTransition: the screens
    not shown are out of the widget tree, as on the kiosk): one screen alone, and three with the
    first shown -- built once with Kivy's function, once after ``fastkv.install()``; then the
    property each set's rules read is changed 40 times, the sets interleaved.  Main-thread CPU
    time (thread_time): per evaluation on the lone shown screen (fastkv asks which screen a widget
    is on, and drops Kivy's trace formatting), and in all with three screens (fastkv's rules on the
    hidden ones wait until their screen is shown: kiosk/ui/hidden.py)."""
    from kivy.event import EventDispatcher
    from kivy.lang import Builder
    from kivy.properties import NumericProperty, ObjectProperty, StringProperty
    from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager
    from kivy.uix.widget import Widget

    from kiosk.ui import fastkv

    class Source(EventDispatcher):
        n = NumericProperty(0)

    class KvProbe(Widget):
        src = ObjectProperty(None)
        a = StringProperty("")
        b = NumericProperty(0)
        c = StringProperty("")

    Builder.load_string("<KvProbe>:\n    a: 'n=%d' % self.src.n\n    b: self.src.n * 2 + 1\n"
                        "    c: str(self.src.n) if self.src.n else ''\n")

    def screens(src: Source, names: tuple[str, ...]) -> list:
        manager, probes = ScreenManager(transition=NoTransition()), []
        for name in names:
            screen = Screen(name=name)
            box = Widget()
            screen.add_widget(box)
            for _ in range(100):
                probes.append(KvProbe(src=src))
                box.add_widget(probes[-1])
            manager.add_widget(screen)
        manager.current = names[0]
        return [manager, probes]

    sets = {}                               # (function, case): (source, [manager, probes])
    for function in ("kivy", "fastkv"):
        if function == "fastkv":
            fastkv.install()                # rules applied from here on are bound to fastkv's
        for case, names in (("shown", ("shown",)), ("three", ("shown", "hidden1", "hidden2"))):
            src = Source()
            sets[function, case] = (src, screens(src, names))
    spent = dict.fromkeys(sets, 0.0)
    for n in range(1, 41):
        for key, (src, _) in sets.items():      # interleaved
            t0 = time.thread_time()
            src.n = n
            spent[key] += time.thread_time() - t0
    for (function, case), (_, (_, probes)) in sets.items():
        assert probes[0].a == "n=40"
        assert (probes[-1].a == "n=40") == (function == "kivy" or case == "shown")   # hidden ones waited
    evaluations = 40 * 100 * 3
    print(json.dumps({"kivy_per_evaluation_us": spent["kivy", "shown"] / evaluations * 1e6,
                      "fastkv_per_evaluation_us": spent["fastkv", "shown"] / evaluations * 1e6,
                      "kivy_total_ms": spent["kivy", "three"] * 1e3,
                      "fastkv_total_ms": spent["fastkv", "three"] * 1e3}), flush=True)


def budgets_at_class_speed() -> float:
    """In a Pi-class run, the kiosk's per-frame budgets (kiosk/ui/pacing.py FrameBudget: text and
    layout time a frame may spend) count what their work costs on the class's CPU: thread CPU time
    x the factor the busiest-frame figure uses (bench_ui.class_factor).  Inside the throttled
    group the main thread runs at this machine's full speed until the quota stalls it, so a budget
    read off the wall clock let ~3.5x a Pi 4's work into a frame -- work the figure then multiplied
    by 3.5.  Returns the factor (1.0: unthrottled, budgets as the kiosk ships them)."""
    from bench.bench_ui import class_factor
    from kiosk.ui.pacing import FrameBudget

    factor = class_factor()
    if factor != 1.0:
        FrameBudget.clock = staticmethod(time.thread_time)
        FrameBudget.scale = factor
    return factor


def stack(port: int, mode: str) -> None:
    """Borrow a 20-item stack; record every frame while it is worked (or while it hangs)."""
    # The garbage collector as `kiosk run` sets it (kiosk/ui/kivyenv.py): paused until the first
    # frame, then the start-up objects frozen out of later collections.  The harness leaves it as
    # it is for tests; the benchmark measures the kiosk as it runs on a Pi.
    from kiosk.ui import kivyenv

    kivyenv.pause_gc_until_first_frame()
    data = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    settings = _kiosk_settings(data, port)
    if mode == "speech":
        settings.speech.enabled = True          # offered; switched on below, as the home screen's switch does
    from kiosk.demo_ils.db import LibraryDb
    from kiosk.ui.harness import running_app

    lib = LibraryDb(Path(os.environ["BENCH_DB"])).export()
    patron = max((p for p in lib["patrons"] if p["can_checkout"]),
                 key=lambda p: p["loan_limit"] - len(p["loans"]))
    items = [i for i in lib["items"] if i["status"] == "available" and not i["holds"] and i["parts"] == 1
             and i["home_branch"] == "MAIN"][:STACK]
    profile_dir = os.environ.get("BENCH_UI_PROFILE")
    if os.environ.get("BENCH_UI_BEFORE") == "fastkv":     # the "before" side of docs/benchmarks-pi-class.md's figure
        from kiosk.ui import fastkv

        fastkv.install = lambda: False
    with running_app(settings) as k:
        d, app = k.driver, k.app
        from kivy.clock import Clock

        from bench.frames import FrameMeter

        # Kivy reads its fps cap when its clock is first imported: imported before kivyenv.prepare
        # (running_app) it kept Kivy's default of 60 and the idle app's frame interval halved.
        if Clock._max_fps != kivyenv.MAX_FPS:
            raise SystemExit(f"Kivy's clock runs at {Clock._max_fps:g} fps, not the kiosk's {kivyenv.MAX_FPS}: "
                             "something imported kivy.clock before kivyenv.prepare")
        budgets_at_class_speed()

        meter = FrameMeter(profile=bool(profile_dir))
        meter.install()
        if mode == "speech":
            app.toggle_speech()
            # A build machine has no sound card: espeak-ng still synthesises every sentence (the
            # CPU it costs is what competes with the frames), into a file instead of the speaker.
            speaker = getattr(getattr(app, "narrator", None), "speaker", None)
            if speaker is not None and hasattr(speaker, "wav"):
                speaker.wav = data / "speech.wav"
        # A kiosk waits at its home screen for minutes before a patron comes: by then it has built
        # the patron screens and the list's rows while nobody was there (kiosk/ui/prewarm.py).
        d.until(lambda: app.prewarm is not None and app.prewarm.finished, 60, "the kiosk's prewarm")
        rasterizer_out = rasterizer_outside_group()   # a Pi's GPU draws: see bench/common.py
        d.tap(d.button("Borrow"))
        d.until_screen("identify")
        d.type(patron["card"])
        d.until_screen("items", 30)
        d.pump(0.5)
        meter.start()
        t0 = time.perf_counter()
        if mode == "idle":
            d.pump(IDLE_WINDOW_S)
        else:
            # The stack lands on the pad: placed from a thread of its own, as the reader's
            # thread reports tags (not from Kivy's main thread, which this measures).
            pad = threading.Thread(target=lambda: [k.devices.tag_reader.place(i["barcode"]) for i in items])
            pad.start()
            if mode == "hung":
                d.pump(HUNG_WINDOW_S)
            else:
                toggled: list[str] = []
                if mode == "theme":       # taps on the top bar's buttons, mid-stack, inside frames as a tap is
                    from kivy.clock import Clock

                    # Each tap 0.5 s after the frame of the one before (the first 0.3 s in): two
                    # taps can never land in one frame, even when a throttled run's frames are slow.
                    taps = [app.toggle_contrast, app.toggle_large_text, app.toggle_contrast, app.toggle_large_text]

                    def tap(_dt: float) -> None:
                        action = taps.pop(0)
                        action()
                        toggled.append(action.__name__)
                        if taps:
                            Clock.schedule_once(tap, 0.5)

                    Clock.schedule_once(tap, 0.3)

                def settled() -> bool:
                    return (mode != "theme" or len(toggled) == 4) and len(app.view.items) >= STACK \
                        and all(i.settled for i in app.view.items)

                d.until(settled, 120, "the whole stack")
        window = time.perf_counter() - t0
        if profile_dir and meter.profiles:          # cProfile of this (Kivy's main) thread, frame by frame
            import pstats

            Path(profile_dir).mkdir(parents=True, exist_ok=True)
            pstats.Stats(*meter.profiles).dump_stats(str(Path(profile_dir) / f"{mode}.prof"))
            for rank, (_cpu, index, prof) in enumerate(meter.worst_profiles, 1):   # busiest first
                prof.dump_stats(str(Path(profile_dir) / f"{mode}-worst{rank}-frame{index}.prof"))
        result = meter.stop()
        states: dict[str, int] = {}
        for i in app.view.items:
            states[i.state] = states.get(i.state, 0) + 1
        result.update(window_s=window, states=states, rasterizer_threads_outside_quota=rasterizer_out)
        print(json.dumps(result), flush=True)
        if mode == "hung":
            # A clean stop would wait for 20 checkouts to time out (the journal makes that
            # safe, but it is not what is measured here).
            os._exit(0)
