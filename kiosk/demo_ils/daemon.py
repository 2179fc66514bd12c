"""The one demo library system of a clone: found by its state file, started on demand.

``kiosk demo`` (the window) and every command run without ``--config`` use the demo
configuration (``config/demo.toml``) and therefore one data directory (``var/demo`` in the clone,
or ``$KIOSK_DEMO_DATA_DIR``).  The demo library system keeps its SQLite database there
(``demo-library.sqlite3``) and, while it runs, a small state file (``demo-library.json``: pid,
host, port) so that the window, ``kiosk checkout``, ``kiosk sip2`` and ``kiosk doctor`` all talk to
the same running library.  When none runs, :func:`ensure_running` starts ``kiosk demo-ils`` in the
background (its log in ``demo-library.log``); ``kiosk demo-ils --stop`` ends it, and it ends itself after 30 minutes without a request (the
demo window's keep-alive counts), so nothing is left running for long.

A lock file serialises the start, so two commands started at once do not start two libraries.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# json, socket, fcntl, signal and subprocess are imported where used: `kiosk run` loads this module (for
# is_demo_config) on its way to the first frame and needs none of them.

DB_NAME = "demo-library.sqlite3"
STATE_NAME = "demo-library.json"
LOG_NAME = "demo-library.log"
LOCK_NAME = "demo-library.lock"
DATA_DIR_ENV = "KIOSK_DEMO_DATA_DIR"
START_TIMEOUT_S = 20.0
IDLE_EXIT_S = 1800.0      # a background library nobody asked anything for 30 minutes ends itself


def demo_config_path() -> Path:
    """config/demo.toml in a source checkout, else the copy inside the installed package."""
    from kiosk.config import DEMO_CONFIG

    return DEMO_CONFIG


def is_demo_config(path: str | os.PathLike | None) -> bool:
    """True for the shipped demo configuration, the checkout's or the package's (however spelled)."""
    from kiosk.config import is_shipped_demo

    return is_shipped_demo(path)


def apply_demo_data_dir(settings: Any) -> Any:
    """``$KIOSK_DEMO_DATA_DIR`` moves the demo's data directory (tests, a second demo)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override and is_demo_config(settings.source):
        settings.storage.data_dir = str(Path(override).expanduser().resolve())
    return settings


def demo_settings(overrides: list[str] | None = None) -> Any:
    from kiosk import config as config_mod

    return apply_demo_data_dir(config_mod.load(demo_config_path(), overrides or []))


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_NAME


def state_path_for_db(db: str | os.PathLike) -> Path:
    """Where a demo library serving ``db`` writes its pid and port (beside the database)."""
    return Path(db).with_name(STATE_NAME)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (started by this very process and not yet reaped) is not alive.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _answers(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def read_state(data_dir: Path, *, check_port: bool = True) -> dict | None:
    """The running demo library of ``data_dir`` ({pid, host, port, db}), or None."""
    import json

    path = Path(data_dir) / STATE_NAME
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        pid, host, port = int(state["pid"]), str(state["host"]), int(state["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid):
        return None
    if check_port and not _answers(host, port):
        return None
    return state


def write_state(db: str | os.PathLike, host: str, port: int, http_port: int | None = None) -> Path:
    """Written by ``kiosk demo-ils`` once it listens; atomically, so a reader never sees half.
    ``http_port``: where the same library answers FOLIO's HTTP API (``--http-port``), if it does."""
    import json

    path = state_path_for_db(db)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "host": host, "port": port, "http_port": http_port,
                               "db": str(Path(db).resolve()), "started": time.time()}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def remove_state(db: str | os.PathLike) -> None:
    """Remove the state file if it is still ours (a newer library may have replaced it)."""
    import json

    path = state_path_for_db(db)
    try:
        if int(json.loads(path.read_text(encoding="utf-8")).get("pid", -1)) == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    import fcntl

    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK_NAME, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def ensure_running(settings: Any, *, reset: bool = False) -> dict:
    """Find or start the demo library of ``settings.data_dir`` and point ``settings.ils`` at it.

    Prefers the configured port (6001 in demo.toml); when something else holds it, any free port
    (the state file says which).  The background library always serves FOLIO's HTTP face too
    (``--http-port``, preferring the port of demo.toml's ``[ils] url``), so ``--set
    ils.protocol=folio`` works for every command; ``[ils] url`` is pointed at it.  A library started
    before it served FOLIO is restarted (same database) when FOLIO is asked for.
    Raises IlsUnavailable naming the log when it does not start.
    """
    data_dir = Path(settings.data_dir)
    folio = getattr(settings.ils, "protocol", "sip2") == "folio"
    with _locked(data_dir):
        state = read_state(data_dir)
        if state is not None and (reset or (folio and not state.get("http_port"))):
            stop(data_dir)
            state = None
        if state is None:
            state = _spawn(settings, data_dir, reset=reset)
    settings.ils.host, settings.ils.port = state["host"], int(state["port"])
    if state.get("http_port"):
        settings.ils.url = f"http://{state['host']}:{int(state['http_port'])}"
    settings.hardware.simulate = True
    return state


def _url_port(url: str) -> int:
    """The port of demo.toml's ``[ils] url`` (9130), 0 when it names none."""
    from urllib.parse import urlsplit

    try:
        return urlsplit(url or "").port or 0
    except ValueError:
        return 0


def _spawn(settings: Any, data_dir: Path, *, reset: bool) -> dict:
    import subprocess

    from kiosk.errors import IlsUnavailable

    host = "127.0.0.1"
    port = settings.ils.port if _port_free(host, settings.ils.port) else 0
    http_port = _url_port(settings.ils.url)
    if not http_port or http_port == port or not _port_free(host, http_port):
        http_port = 0
    cmd = [sys.executable, "-m", "kiosk", "demo-ils", "--host", host, "--port", str(port),
           "--http-port", str(http_port), "--tenant", getattr(settings.ils, "tenant", "") or "diku",
           "--db", str(db_path(data_dir)), "--user", settings.ils.user or "kiosk",
           "--password", settings.ils_password() or "kiosk", "--institution", settings.ils.institution or "DEMO",
           "--idle-exit-s", str(IDLE_EXIT_S)]
    if reset:
        cmd.append("--reset")
    log_path = data_dir / LOG_NAME
    (data_dir / STATE_NAME).unlink(missing_ok=True)
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                                start_new_session=True, close_fds=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        state = read_state(data_dir)
        if state is not None and int(state["pid"]) == proc.pid:
            return state
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    else:
        proc.terminate()
    raise IlsUnavailable(f"the demo library system did not start (exit {proc.poll()}); "
                         f"its log: {log_path}")


def stop(data_dir: Path, timeout_s: float = 10.0) -> dict | None:
    """Stop the running demo library of ``data_dir``; returns its state, None when none ran."""
    state = read_state(Path(data_dir), check_port=False)
    if state is None:
        return None
    import signal

    pid = int(state["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    (Path(data_dir) / STATE_NAME).unlink(missing_ok=True)
    return state
