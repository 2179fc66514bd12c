"""Set Kivy up for a kiosk *before* Kivy is imported: nothing in ~/.kivy, no argv, no escape.

Kivy reads its environment and its config file at import time, so :func:`prepare` must run
before the first ``import kivy``.  It makes the kiosk safe to leave in a lobby
(reference hardware-and-deployment.md §6.1): KIVY_HOME inside the data dir, KIVY_NO_ARGS (no
``-m inspector`` from the command line), no config file read or written, no file log (logs go
to stderr, i.e. journald, through our privacy filter), Esc does not quit, no F1 settings.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

MAX_FPS = 30       # plenty for a kiosk; keeps a Pi cool (reference hardware-and-deployment.md §4.5)


def prepare(kivy_home: Path, *, headless: bool = False, width: int = 800, height: int = 480,
            fullscreen: bool = False, touchscreen: bool = False, rotation: int = 0) -> None:
    """Environment and Config for the kiosk window.  Idempotent; must precede ``import kivy``.

    ``rotation`` ([display] rotation) turns the picture; Kivy maps touches through the same
    rotation (MotionEvent.scale_for_screen), so touch follows without provider parameters.
    """
    kivy_home.mkdir(parents=True, exist_ok=True)
    os.environ["KIVY_HOME"] = str(kivy_home)
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ["KIVY_NO_CONFIG"] = "1"
    os.environ["KIVY_NO_FILELOG"] = "1"
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")     # Kivy logs through our handler
    os.environ.setdefault("KIVY_WINDOW", "sdl2")          # else a missing GL exits 102 silently
    # Image loaders: the kiosk shows PNG files only (logo, assets), which SDL2_image reads.  Naming
    # the loaders skips importing Pillow and probing ffpyplayer at every start (~10 ms and a few MB
    # on a Pi 4); screenshots are written by SDL2 either way.
    os.environ.setdefault("KIVY_IMAGE", "tex,dds,sdl2")
    # SDL turns SIGTERM/SIGINT into a window-close request, which the kiosk refuses: systemd
    # could then never stop it.  The app installs its own handlers instead (KioskApp.on_start).
    os.environ["SDL_NO_SIGNAL_HANDLERS"] = "1"
    if headless:
        # SDL's offscreen driver + Mesa renders real pixels without any X server (reference README).
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    if "kivy.config" in sys.modules:
        from kivy.config import Config
    else:
        from kivy.config import Config  # first import: reads the env above
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "log_enable", "0")
    Config.set("kivy", "keyboard_mode", "system")
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "0" if fullscreen else "1")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("graphics", "rotation", str(rotation))
    Config.set("graphics", "maxfps", str(MAX_FPS))
    Config.set("input", "mouse", "mouse,disable_multitouch")
    if touchscreen:
        # Official Pi touch display (reference hardware-and-deployment.md §4.3); one provider
        # per device to avoid duplicate touches.
        Config.remove_option("input", "mouse")
        Config.set("input", "%(name)s", "probesysfs,provider=mtdev")
    for module in ("inspector", "monitor", "keybinding", "screen", "console", "webdebugger"):
        Config.remove_option("modules", module)
    from kiosk.ui import kvcache

    # parsed .kv files kept between starts, like .pyc (kvcache.py); installed before kivy.lang is
    # imported (fastkv imports it), so Kivy's own style.kv is read back too
    kvcache.install()
    from kiosk.ui import fastkv

    fastkv.install()                # kv rules without per-evaluation trace formatting (fastkv.py)
    from kiosk.ui import hidden

    hidden.install()                # layouts of screens not shown wait until shown (hidden.py)


# -- start-up without garbage collection ----------------------------------------------------------
# Importing Kivy and the kiosk and building the first screen allocates a few hundred thousand
# objects, nearly all of which live as long as the process.  CPython's cyclic collector runs ~100
# times meanwhile (about 20 ms on a desktop core, several times that on a Pi) to find almost
# nothing.  So the kiosk's own start (`kiosk run`, `kiosk demo`) pauses it until the first frame is
# on the screen, then moves everything that exists at that point into the permanent generation
# (gc.freeze): later collections, which can interrupt a patron's session, skip those objects.

_gc_paused = False


def pause_gc_until_first_frame() -> None:
    """Called first thing by the kiosk's start commands; :func:`resume_gc` ends the pause."""
    global _gc_paused
    if gc.isenabled():
        gc.disable()
        _gc_paused = True


def resume_gc() -> None:
    """After the first frame: freeze the start-up objects and collect normally again.

    A no-op unless :func:`pause_gc_until_first_frame` paused collection (tests and embedders that
    build a ``KioskApp`` themselves keep their own GC settings)."""
    global _gc_paused
    if _gc_paused:
        gc.freeze()
        gc.enable()
        _gc_paused = False
