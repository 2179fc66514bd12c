"""Shared pytest setup.  Keep each helper's part small and labelled; do not rewrite others' parts."""

from __future__ import annotations

import logging

import pytest


# -- privacy (issue 9): keep every log record of the run for tests/test_zz_privacy_logs.py ----------
class RunLogCollector(logging.Handler):
    """Collects (test id, logger, level, message) of every record emitted during the run."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[tuple[str, str, str, str]] = []
        self.current_test = "<collection>"
        self.child_tests: set[str] = set()   # GUI tests whose process handed its records back (below)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not break the run
            text = f"{record.msg!r} % {record.args!r}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f"\n{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        self.records.append((self.current_test, record.name, record.levelname, text))


RUN_LOG = RunLogCollector()


@pytest.fixture(autouse=True)
def _privacy_log_collector(request):
    # Re-attached before every test: `kiosk.appliance.privacy.setup_logging()` (e.g. via kiosk.cli.main)
    # replaces the root handlers.  DEBUG, because raw SIP2 frames are typically logged at debug.
    root = logging.getLogger()
    if RUN_LOG not in root.handlers:
        root.addHandler(RUN_LOG)
    if root.level > logging.DEBUG or root.level == logging.NOTSET:
        root.setLevel(logging.DEBUG)
    RUN_LOG.current_test = request.node.nodeid
    yield


# -- touchscreen GUI harness (issue 7) ---------------------------------------------------------------
# GUI tests (marked ``gui``) drive the real KioskApp headless (SDL offscreen + Mesa) against the real
# circulation engine, simulated hardware and the embedded demo library system.  Kivy does not cope
# well with several Apps in one process, so every GUI test runs in its own Python process: the
# parent re-runs just that test id with KIOSK_GUI_CHILD=1 and reports the child's verdict and output.
# Tests get the app from the ``gui_kiosk`` factory fixture:
#
#     @pytest.mark.gui
#     def test_something(gui_kiosk):
#         with gui_kiosk({"kiosk.require_pin": True}, latency_ms=0) as k:
#             k.driver.tap(k.driver.button("Borrow")); k.driver.type("2000000001")   # scanner
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

# -- bytecode: compiled once per run, not once per process -------------------------------------------
# The suite starts ~150 Python processes (every GUI test, the kill -9 workers, `kiosk` commands).
# Where the environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE, as on the build machine),
# each of them compiled the kiosk, the tests and pytest's assertion rewrites of its plugins from
# source again: ~1 s of every GUI test's ~3.5 s.  The run keeps its bytecode in the virtualenv's own
# cache directory instead (Python's PYTHONPYCACHEPREFIX), never beside the sources.
if sys.dont_write_bytecode:
    sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"] = str(Path(sys.prefix) / "pycache")
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# Nothing in the test run may write ~/.kivy or read the command line (also for non-GUI imports).
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
for _var in ("KIVY_NO_ARGS", "KIVY_NO_CONFIG", "KIVY_NO_FILELOG", "KIVY_NO_CONSOLELOG"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")

GUI_CHILD = os.environ.get("KIOSK_GUI_CHILD") == "1"
GUI_TEST_TIMEOUT_S = 120


def pytest_pyfunc_call(pyfuncitem):
    """In the parent process, run a ``gui`` test in a fresh interpreter instead of here."""
    if GUI_CHILD or pyfuncitem.get_closest_marker("gui") is None:
        return None
    env = dict(os.environ, KIOSK_GUI_CHILD="1", SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy",
               KIVY_WINDOW="sdl2")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    # No GUI test uses Hypothesis: its pytest plugin alone was ~0.5 s of every child's start.
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:randomly",
           "-p", "no:hypothesispytest", pyfuncitem.nodeid]
    # The child's log records come back through a file, so the privacy scan
    # (tests/test_zz_privacy_logs.py) reads the app's logs too, not only this process's.
    fd, sink = tempfile.mkstemp(prefix="gui-log-", suffix=".json")
    os.close(fd)
    env["KIOSK_RUN_LOG_SINK"] = sink
    try:
        proc = subprocess.run(cmd, cwd=str(pyfuncitem.config.rootpath), env=env, capture_output=True,
                              text=True, timeout=GUI_TEST_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"GUI test did not finish in {GUI_TEST_TIMEOUT_S}s\n{(exc.stdout or '')[-4000:]}")
    finally:
        _collect_child_log(Path(sink))
    if proc.returncode != 0:
        pytest.fail(f"GUI test failed in its own process (exit {proc.returncode}):\n"
                    f"{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}", pytrace=False)
    return True


def _collect_child_log(sink: Path) -> None:
    try:
        text = sink.read_text(encoding="utf-8")
    except OSError:
        return
    finally:
        sink.unlink(missing_ok=True)
    if text:
        records = [tuple(r) for r in json.loads(text)]
        RUN_LOG.records.extend(records)
        RUN_LOG.child_tests.update(r[0] for r in records)


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001 - pytest hook signature
    """In a GUI child: hand every log record of the test to the parent (see pytest_pyfunc_call)."""
    sink = os.environ.get("KIOSK_RUN_LOG_SINK")
    if GUI_CHILD and sink:
        Path(sink).write_text(json.dumps(RUN_LOG.records), encoding="utf-8")


@pytest.fixture
def gui_kiosk(tmp_path, ils_protocol):
    """Factory: ``with gui_kiosk(overrides, latency_ms=0, size=(800, 480)) as kiosk:`` starts the
    demo library system and the real app (config/demo.toml + overrides); stops both cleanly.
    The kiosk speaks ``ils_protocol`` (below) to the demo library unless the overrides say otherwise."""

    @contextlib.contextmanager
    def start(overrides: dict | None = None, *, latency_ms: int = 0, size: tuple[int, int] = (800, 480),
              setup=None, goodbye_s: float = 1.0):
        if not GUI_CHILD:
            raise RuntimeError("gui_kiosk is only usable in tests marked @pytest.mark.gui")
        from kiosk import config as config_mod
        from kiosk.ui.harness import demo_ils, prepare_settings, running_app

        settings = config_mod.load(Path(config_mod.CONFIG_DIR) / "demo.toml")
        prepare_settings(settings, data_dir=tmp_path / "data",
                         overrides={"kiosk.language": "en", "ils.protocol": ils_protocol, **(overrides or {})})
        with demo_ils(settings, latency_ms=latency_ms) as server:
            if setup is not None:       # e.g. put a misbehaving network between kiosk and library
                setup(settings, server)
            with running_app(settings, width=size[0], height=size[1], server=server) as kiosk:
                # The goodbye screen shows 5 s in production; tests need not sit through it.  (Not a
                # setting of the engine, so it is adjusted on the session it built.)
                import dataclasses

                session = kiosk.app.service._session
                session.config = dataclasses.replace(session.config, ended_display_s=goodbye_s)
                yield kiosk

    return start


# -- one demo library, either protocol (issue 16) ------------------------------------------------------
# The demo library answers SIP2 and FOLIO's HTTP API over one SQLite library (kiosk/demo_ils/).  Tests
# that talk to it through the shared fixtures -- the GUI harness (``gui_kiosk``), ``demo_library`` --
# take the protocol from the ``ils_protocol`` fixture, so the same test bodies run over either:
#
#   KIOSK_TEST_PROTOCOL=sip2   (default)  library-facing tests speak SIP2;
#   KIOSK_TEST_PROTOCOL=folio             ... speak FOLIO (`KIOSK_TEST_PROTOCOL=folio make test`);
#   KIOSK_TEST_PROTOCOL=both              ... run twice, test[sip2] and test[folio].
#
# Whatever the switch says, tests marked ``both_protocols`` run over both: that is the FOLIO pass of
# every `make test` (engine-level and GUI flows; kept to about a minute).  Tests marked
# ``sip2_only("why")`` are SIP2 by nature (the codec, frames on the wire, `kiosk sip2`, SIP2-only
# messages) and run over SIP2 under any switch -- never skipped; the run's summary counts them.
PROTOCOLS = ("sip2", "folio")
TEST_PROTOCOL = os.environ.get("KIOSK_TEST_PROTOCOL", "sip2").strip().lower() or "sip2"
_PROTOCOL_RUNS: dict[str, str] = {}          # test id -> the protocol its library-facing fixtures used
_SIP2_ONLY: set[str] = set()                 # collected tests marked sip2_only


def pytest_configure(config):
    if TEST_PROTOCOL not in (*PROTOCOLS, "both"):
        raise pytest.UsageError(f"KIOSK_TEST_PROTOCOL={TEST_PROTOCOL!r}: expected sip2, folio or both")
    config.addinivalue_line("markers", "sip2_only(reason): SIP2 by nature; runs over SIP2 whatever "
                                       "KIOSK_TEST_PROTOCOL says (the reason says why)")
    config.addinivalue_line("markers", "both_protocols: runs over SIP2 and FOLIO in every run (the FOLIO "
                                       "pass of `make test`)")
    _watch_direct_sip2_servers()


_DIRECT_SIP2: set[str] = set()     # tests that built a SIP2 client themselves, not via ils_protocol


def _watch_direct_sip2_servers() -> None:
    """Note every test that builds a SIP2 client (SipIls) outside the protocol switch and is not
    marked sip2_only: the summary names them, so a test that stays SIP2 under
    KIOSK_TEST_PROTOCOL=folio is never silent about it."""
    from kiosk.sip2.ils import SipIls

    init = SipIls.__init__
    if getattr(init, "_watched", False):
        return

    def watched_init(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        test = RUN_LOG.current_test
        if _PROTOCOL_RUNS.get(test) != "sip2" and test not in _SIP2_ONLY and test != "<collection>":
            _DIRECT_SIP2.add(test)
        return init(self, *args, **kwargs)

    watched_init._watched = True
    SipIls.__init__ = watched_init


def _sip2_only_reason(node) -> str | None:  # noqa: ANN001
    marker = node.get_closest_marker("sip2_only")
    if marker is None:
        return None
    reason = (marker.args[0] if marker.args else marker.kwargs.get("reason", "")) or ""
    if not str(reason).strip():
        raise pytest.UsageError(f"{node.nodeid}: sip2_only needs a reason (why it is SIP2 by nature)")
    return str(reason)


def pytest_collection_modifyitems(session, config, items):  # noqa: ARG001 - pytest hook signature
    _SIP2_ONLY.update(i.nodeid for i in items if _sip2_only_reason(i))


def pytest_generate_tests(metafunc):
    if "ils_protocol" not in metafunc.fixturenames or _sip2_only_reason(metafunc.definition):
        return
    if TEST_PROTOCOL == "both" or metafunc.definition.get_closest_marker("both_protocols") is not None:
        metafunc.parametrize("ils_protocol", PROTOCOLS, indirect=True)


@pytest.fixture
def ils_protocol(request) -> str:
    """The protocol this test's kiosk speaks to the demo library: "sip2" or "folio" (see above)."""
    protocol = "sip2" if _sip2_only_reason(request.node) else getattr(request, "param", None) or TEST_PROTOCOL
    _PROTOCOL_RUNS[request.node.nodeid] = protocol
    return protocol


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 - pytest hook signature
    """Say which protocol the library-facing tests spoke, so nothing is silently SIP2 only."""
    if GUI_CHILD or not (_PROTOCOL_RUNS or _DIRECT_SIP2):
        return
    counts = {p: sum(1 for t, v in _PROTOCOL_RUNS.items() if v == p and t not in _SIP2_ONLY) for p in PROTOCOLS}
    terminalreporter.write_line(
        f"demo library protocols (KIOSK_TEST_PROTOCOL={TEST_PROTOCOL}): {counts['sip2']} library-facing "
        f"tests over SIP2, {counts['folio']} over FOLIO; {len(_SIP2_ONLY)} collected tests are SIP2 by "
        f"nature (sip2_only)")
    if _DIRECT_SIP2:
        files = sorted({t.split("::", 1)[0] for t in _DIRECT_SIP2})
        terminalreporter.write_line(f"  {len(_DIRECT_SIP2)} other tests built a SIP2 client themselves (SIP2 "
                                    f"whatever the switch): {', '.join(files)}")


class DemoLibrary:
    """The demo library system for one test: its SIP2 server, and FOLIO's HTTP face over the same
    database when the test's protocol is ``folio``.  ``overrides()`` are the ``--set``/``config.load``
    assignments that point a kiosk at it (optionally through a proxy on ``port``), ``ils_toml()`` the
    same as a config file's ``[ils]`` lines; ``restarted()`` brings it back on the same ports."""

    def __init__(self, path: Path, protocol: str, port: int = 0, http_port: int = 0) -> None:
        from kiosk.demo_ils.server import DemoIlsServer

        self.protocol = protocol
        self.sip = DemoIlsServer(path, port=port).start()
        self.db = self.sip.db
        self.folio = None
        if protocol == "folio":
            from kiosk.demo_ils.folio_http import FolioDemoServer

            self.folio = FolioDemoServer(self.db, port=http_port).start()
        self.ports = (self.sip.port, self.folio.port if self.folio else 0)     # known after stop() too

    @property
    def port(self) -> int:
        """Where the kiosk's protocol is answered (the SIP2 port or the FOLIO HTTP port)."""
        return self.ports[1] if self.folio else self.ports[0]

    def overrides(self, port: int | None = None) -> list[str]:
        port = port or self.port
        if self.protocol == "folio":     # tenant, login and service point as demo.toml and the demo's
            return ["ils.protocol=folio", f"ils.url=http://127.0.0.1:{port}", "ils.tenant=diku",
                    "ils.service_point=main", "ils.user=kiosk", "ils.password=kiosk"]
        return [f"ils.port={port}"]

    def ils_toml(self, *, timeout_s: float = 2.0, pool_size: int = 2, location: str = "MAIN-DROP") -> str:
        if self.protocol == "folio":
            return (f'protocol = "folio"\nurl = "http://127.0.0.1:{self.port}"\ntenant = "diku"\n'
                    f'service_point = "main"\nuser = "kiosk"\npassword = "kiosk"\ntimeout_s = {timeout_s}\n'
                    f'pool_size = {pool_size}\n')
        return (f'host = "127.0.0.1"\nport = {self.port}\nuser = "kiosk"\npassword = "kiosk"\n'
                f'institution = "DEMO"\nlocation = "{location}"\ntimeout_s = {timeout_s}\nretries = 0\n'
                f'pool_size = {pool_size}\n')

    def restarted(self) -> DemoLibrary:
        """The library back after :meth:`stop`: the same database, the same ports."""
        return DemoLibrary(Path(self.db.path), self.protocol, *self.ports)

    def stop(self) -> None:
        if self.folio is not None:
            self.folio.stop()
        self.sip.stop()


@pytest.fixture(scope="module")
def seeded_library(tmp_path_factory) -> Path:
    """A freshly seeded demo library file, once per test module: seeding takes a while, so each
    test copies it (``shutil.copy``) and works on its own copy."""
    from kiosk.demo_ils.db import LibraryDb

    path = tmp_path_factory.mktemp("seed") / "library.sqlite3"
    db = LibraryDb(path)
    db.seed()
    db.close()
    return path


@pytest.fixture
def demo_library(tmp_path, ils_protocol):
    """A running :class:`DemoLibrary` (a fresh seeded library) speaking this test's ``ils_protocol``."""
    library = DemoLibrary(tmp_path / "library.sqlite3", ils_protocol)
    yield library
    library.stop()
