"""Drive the real KioskApp without a person: frames, synthetic touches, scanner typing, screenshots.

Used by the GUI tests (tests/conftest.py), the scripted tour (``kiosk demo --tour``) and the UI
benchmark.  The app runs on *this* thread: :meth:`Driver.start` prepares the window like
``App.run()`` does, and :meth:`pump` advances Kivy's event loop frame by frame, so a test can
interleave actions and checks without threads touching widgets.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.input.motionevent import MotionEvent


class SyntheticTouch(MotionEvent):
    """A finger at window coordinates (x, y), as the touchscreen's input provider would send."""

    def __init__(self, x: float, y: float, uid: int):
        super().__init__("synthetic", uid, {"x": x, "y": y}, is_touch=True, type_id="touch")
        self.profile = ["pos"]

    def depack(self, args):  # noqa: ANN001
        w, h = Window.system_size
        self.sx = args["x"] / max(1.0, w - 1.0)
        self.sy = args["y"] / max(1.0, h - 1.0)
        super().depack(args)


class Driver:
    """Start, pump, tap, type, look, stop."""

    def __init__(self, app):  # noqa: ANN001 - KioskApp
        self.app = app
        self._uid = 1000

    # -------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.app._run_prepare()          # what App.run() does before its loop (kivy's own tests too)
        self.until(lambda: self.app.is_ready and self.app.view is not None, 15, "the kiosk to be wired")

    def stop(self) -> None:
        self.app.stop()
        try:
            EventLoop.idle()
        except Exception:  # noqa: BLE001 - the loop may already be closed
            pass

    # -------------------------------------------------------------- time
    def frame(self) -> None:
        EventLoop.idle()

    def pump(self, seconds: float = 0.1) -> None:
        """Run frames for ``seconds`` of wall time."""
        end = time.monotonic() + seconds
        while True:
            EventLoop.idle()
            if time.monotonic() >= end:
                break

    def until(self, condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
        """Run frames until ``condition()`` is true; AssertionError naming ``what`` after ``timeout``.

        ``KIOSK_TIMEOUT_SCALE`` multiplies every timeout: an arm64 root under qemu (make pi-check)
        runs the same tour some twenty times slower."""
        timeout *= float(os.environ.get("KIOSK_TIMEOUT_SCALE") or 1)
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                view = self.app.view
                raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}; "
                                     f"screen={self.screen!r} state={getattr(view, 'state', None)!r}")
            EventLoop.idle()
        EventLoop.idle()

    def settle(self, timeout: float = 10.0, quiet_frames: int = 2) -> None:
        """Run frames until the window has settled: for ``quiet_frames`` frames in a row nothing is
        waiting to run in the next frame -- no layout, no text render, no label deferred by the
        per-frame text budget (kiosk/ui/widgets.py), all of which Kivy schedules on its Clock as
        one-shot events.  Repeating events (a spinner) and timers set for later do not count.

        Checks of what is drawn call this instead of ``pump(0.1)``: how many frames fit in 0.1 s
        depends on the machine's load, how many a switch needs does not."""
        from kivy.clock import Clock

        quiet = [0]

        def settled() -> bool:
            pending = any(not ev.loop and ev.timeout <= 0 for ev in Clock.get_events())
            quiet[0] = 0 if pending else quiet[0] + 1
            return quiet[0] >= quiet_frames

        self.until(settled, timeout, "the window to settle (layouts and text renders done)")

    @property
    def screen(self) -> str:
        return self.app.root_widget.ids.sm.current

    def until_screen(self, name: str, timeout: float = 10.0) -> None:
        self.until(lambda: self.screen == name, timeout, f"screen {name!r}")

    # -------------------------------------------------------------- input
    def tap(self, widget, hold: float = 0.0) -> None:  # noqa: ANN001
        """Touch the centre of ``widget`` (or an (x, y) pair in window coordinates) and lift."""
        if isinstance(widget, tuple):
            x, y = widget
        else:
            x, y = widget.to_window(*widget.center)
        self._uid += 1
        touch = SyntheticTouch(x, y, self._uid)
        EventLoop.post_dispatch_input("begin", touch)
        if hold:
            self.pump(hold)
        else:
            EventLoop.idle()
        EventLoop.post_dispatch_input("end", touch)
        EventLoop.idle()

    def type(self, text: str, enter: bool = True) -> None:
        """Type like a keyboard-wedge scanner: one key event per character, then Enter."""
        for ch in text:
            Window.dispatch("on_key_down", ord(ch), 0, ch, [])
            Window.dispatch("on_textinput", ch)
            Window.dispatch("on_key_up", ord(ch), 0)
        if enter:
            Window.dispatch("on_key_down", 13, 40, None, [])
            Window.dispatch("on_key_up", 13, 40)
        EventLoop.idle()

    # -------------------------------------------------------------- looking
    def find(self, predicate: Callable[[object], bool], root=None):  # noqa: ANN001,ANN201
        """Every widget under ``root`` (default: the current screen) matching ``predicate``."""
        root = root or self.app.root_widget.ids.sm.current_screen
        return [w for w in root.walk(restrict=True) if predicate(w)]

    def button(self, text: str, root=None):  # noqa: ANN001,ANN201
        """The visible, enabled button on the current screen whose text is exactly ``text``."""
        from kiosk.ui.widgets import Pressable

        hits = self.find(lambda w: isinstance(w, Pressable) and w.text == text and not w.disabled
                         and w.opacity > 0, root)
        if not hits:
            raise AssertionError(f"no button {text!r} on screen {self.screen!r}")
        return hits[0]

    def texts(self, root=None) -> list[str]:  # noqa: ANN001
        """All label/button texts under ``root`` (default: the whole window, overlays included)."""
        from kivy.uix.label import Label

        roots = list(Window.children) if root is None else [root]
        out = []
        for top in roots:
            for w in top.walk(restrict=True):
                if isinstance(w, Label) and w.text:
                    out.append(w.text)
        return out

    def all_texts(self) -> list[str]:
        """Texts on every screen (not just the visible one) and every overlay."""
        out = self.texts()
        for screen in self.app.root_widget.ids.sm.screens:
            if screen.parent is None:            # screens not shown are detached from the window
                out += self.texts(screen)
        return out

    def screenshot(self, path: str | os.PathLike) -> Path:
        """Save the window's pixels as PNG at exactly ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        EventLoop.idle()
        EventLoop.idle()
        tmp = Window.screenshot(name=str(path.with_name(path.stem + "-tmp.png")))  # Kivy appends 0001
        os.replace(tmp, path)
        return path
