"""``kiosk run`` as systemd starts it: comes up headless, keeps Kivy's files in the data dir, and
stops cleanly on SIGTERM (a refused window-close must not make the service unstoppable)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time


def test_kiosk_run_starts_and_stops_on_sigterm(tmp_path):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[kiosk]\nfullscreen = false\n[ils]\nport = 1\n[storage]\ndata_dir = "data"\n'
                   '[hardware]\nsimulate = true\n')
    home = tmp_path / "home"
    home.mkdir()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)   # systemd's end of Type=notify
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(30)
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy", HOME=str(home),
               NOTIFY_SOCKET=str(tmp_path / "notify"))
    for var in ("KIVY_HOME", "KIVY_NO_CONFIG", "KIVY_NO_ARGS", "DISPLAY", "WAYLAND_DISPLAY", "WATCHDOG_USEC"):
        env.pop(var, None)                         # the kiosk must set these up itself
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--log-level", "INFO", "run", "--config", str(cfg)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert notify.recv(4096).decode().split("\n")[0] == "READY=1"    # sent from the first frame
        deadline = time.monotonic() + 30
        while not (tmp_path / "data" / "journal.sqlite3").exists():   # wired after the first frame
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the kiosk did not come up"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    finally:
        notify.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "signal 15: stopping" in out
    assert (tmp_path / "data" / "kivy").is_dir()
    assert not (home / ".kivy").exists()           # nothing written to ~/.kivy
    assert "Traceback" not in out


def test_kiosk_run_refuses_a_world_readable_secret_before_any_window(tmp_path):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[kiosk]\nfullscreen = false\n[ils]\nport = 1\npassword = "s3cret"\n'
                   '[storage]\ndata_dir = "data"\n[hardware]\nsimulate = true\n')
    cfg.chmod(0o644)
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy")
    r = subprocess.run([sys.executable, "-m", "kiosk", "run", "--config", str(cfg)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert str(cfg) in r.stderr and "chmod 600" in r.stderr
    assert not (tmp_path / "data" / "kivy").exists()        # refused before Kivy was set up
    cfg.chmod(0o600)


GC_SCRIPT = """
import gc
from kiosk.ui import kivyenv
kivyenv.resume_gc()                       # never paused: a no-op
assert gc.isenabled() and gc.get_freeze_count() == 0
kivyenv.pause_gc_until_first_frame()
assert not gc.isenabled()
kivyenv.pause_gc_until_first_frame()      # twice: still one pause
kivyenv.resume_gc()
assert gc.isenabled() and gc.get_freeze_count() > 1000, gc.get_freeze_count()
gc.unfreeze()
kivyenv.resume_gc()                       # already resumed: nothing frozen again
assert gc.get_freeze_count() == 0
gc.disable()                              # an embedder that runs without GC keeps it off
kivyenv.pause_gc_until_first_frame()
kivyenv.resume_gc()
assert not gc.isenabled()
print("ok")
"""


def test_start_up_pauses_garbage_collection_until_the_first_frame_then_freezes():
    """kiosk/ui/kivyenv.py: in its own process, so this test run's collector is left alone."""
    r = subprocess.run([sys.executable, "-c", GC_SCRIPT], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
