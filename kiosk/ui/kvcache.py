"""Parsed kv files kept between starts, as Python keeps bytecode (issue 19: start-up).

Kivy parses every ``.kv`` file at every start (``kivy.lang.builder.Builder.load_string`` makes a
``kivy.lang.parser.Parser``): lines split, rules nested, each rule's expression compiled and its
watched keys found.  Before the first frame that is widgets.kv, root.kv and home.kv -- 8-10 ms of
CPU on this x86 machine, three to four times that on a Pi 4 core -- and every other screen's file as
prewarm builds it (all 21: ~60 ms here; kept, ~9) -- and, before any of them, Kivy's own
``style.kv``, which ``import kivy.lang`` parses (~65 ms here; kept, ~4): :func:`install` runs
before that import.  The result depends only on the file's text, Kivy's version and Python's
bytecode format, so :func:`install` keeps it: the parsed rules (code objects marshalled, as in a
``.pyc``) are written to the kv file's ``__pycache__`` and read back at the next start, tagged
with Python's cache tag and Kivy's version and checked against the text they came from.

Like a ``.pyc``: written where the directory is writable (a developer's tree, a test run) unless
Python is told not to write bytecode (``PYTHONDONTWRITEBYTECODE``, ``-B``), by
``python -m kiosk.ui.kvcache`` at install time where it is not (systemd/install.sh; the venv is
root's, the kiosk runs as its own user), and trusted as the bytecode beside it is.  A cache that
is missing, stale, truncated or unreadable is parsed as before -- never an error for anyone.
The write happens on a worker thread (rule 3: no disk wait on Kivy's main thread), to a
temporary file renamed into place, so a crash mid-write leaves no half file to be read.
"""

from __future__ import annotations

import copyreg
import io
import logging
import marshal
import os
import sys
import threading
import types
from collections.abc import Iterable
from pathlib import Path

# Nothing imported here that a Kivy process has not loaded already: this runs before the first
# frame, where importing hashlib (OpenSSL, ~4 ms here) and pickle.py (~3 ms) cost what the cache saves.  The
# text a parse came from is kept whole in front of it (marshal), and compared; reading uses the
# C unpickler alone (_pickle, CPython's own behind pickle.loads); writing imports pickle.
FORMAT = 2          # bump when what is kept changes shape
log = logging.getLogger(__name__)


def _tag() -> str:
    import kivy

    return f"{sys.implementation.cache_tag}-kivy{kivy.__version__}-{FORMAT}"


def cache_path(kv_file: str | os.PathLike) -> Path:
    """Where the parse of ``kv_file`` is kept: ``__pycache__/<name>.kv.<python>-kivy<version>-<format>.pickle``
    beside it -- or, where Python keeps its bytecode under a prefix (``PYTHONPYCACHEPREFIX``, as
    the test suite does), in the same place under that prefix a ``.pyc`` would go."""
    path = Path(kv_file)
    name = f"{path.name}.{_tag()}.pickle"
    if sys.pycache_prefix:
        return Path(sys.pycache_prefix, os.path.abspath(path.parent).lstrip(os.sep), name)
    return path.parent / "__pycache__" / name


def load(kv_file: str | os.PathLike, content: str):  # noqa: ANN201 - a kivy.lang.parser.Parser or None
    """The kept parse of ``content`` (the text of ``kv_file``), or None when there is none that
    matches it."""
    path = cache_path(kv_file)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return from_bytes(data, content, path.name)


def from_bytes(data: bytes, content: str, name: str = "kv cache"):  # noqa: ANN201 - a Parser or None
    """The parse :func:`dump` put in ``data`` if it was made from ``content``, else None.  Its
    ``#:`` directives are run again (``#:import`` fills Kivy's global id map, which a fresh parse
    does as it reads them)."""
    try:
        kept_text = marshal.loads(data)             # the text, first; the parse follows it
        if kept_text != content:
            log.debug("%s: stale (the text changed)", name)
            return None
        from _pickle import loads

        parser = loads(data[len(marshal.dumps(content)):])
        parser.execute_directives()
    except Exception as exc:  # noqa: BLE001 - any damage means "parse it again"
        log.debug("%s unreadable (%s): parsing the text", name, exc)
        return None
    return parser


def dump(parser, content: str) -> bytes:  # noqa: ANN001 - a Parser
    """The bytes :func:`load` reads: the text (marshal), then the parse (pickle; code objects --
    each rule's compiled expression -- through marshal, as in a .pyc)."""
    import pickle

    class Pickler(pickle.Pickler):
        dispatch_table = {**copyreg.dispatch_table,
                          types.CodeType: lambda code: (marshal.loads, (marshal.dumps(code),))}

    buffer = io.BytesIO()
    buffer.write(marshal.dumps(content))
    Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(parser)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> bool:
    """Put ``data`` at ``path`` whole or not at all; False where the directory is not writable."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return True
    except OSError as exc:
        log.debug("kv cache %s not written: %s", path, exc)
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        return False


def _is_kv_file(filename: object) -> bool:
    return bool(filename) and str(filename).endswith(".kv")


def keep(parser, content: str, filename: str) -> None:  # noqa: ANN001 - a Parser
    """Keep a fresh parse of ``filename`` for the next start, on a worker thread -- unless Python
    is told to write no bytecode (``PYTHONDONTWRITEBYTECODE``, ``-B``): then no kept parse either."""
    if sys.dont_write_bytecode:
        return
    try:
        data = dump(parser, content)
    except Exception as exc:  # noqa: BLE001 - an unpicklable rule: run uncached, as before
        log.debug("kv cache: %s not kept: %s", filename, exc)
        return
    threading.Thread(target=write, args=(cache_path(filename), data), name="kv-cache", daemon=True).start()


def _keep_parses(parser_class: type) -> None:
    """Make ``parser_class`` (Kivy's ``kivy.lang.parser.Parser``) take kept parses: asked for the
    parse of a ``.kv`` file's text, ``Parser(content=..., filename=...)`` is filled from the kept
    one when it matches, else parses and keeps it.  On the class rather than on Builder's name for
    it: Kivy parses its own style.kv while ``kivy.lang`` is first imported, before anything outside
    could rebind that name (:func:`install`).  Subclasses (Kivy's coverage tool) parse as before."""
    if vars(parser_class).get("kiosk_kv_cache"):
        return
    kivy_init = parser_class.__init__
    slots = parser_class.__slots__

    def __init__(self, **kwargs):  # noqa: ANN001,ANN202,N807 - Parser's own signature
        filename = kwargs.get("filename")
        if type(self) is not parser_class or not _is_kv_file(filename):
            kivy_init(self, **kwargs)
            return
        kept = load(filename, kwargs.get("content"))
        if kept is None:
            kivy_init(self, **kwargs)
            keep(self, kwargs.get("content"), filename)
            return
        kept.filename = filename            # the rules' context: the path Builder unloads by
        for slot in slots:
            setattr(self, slot, getattr(kept, slot))

    parser_class.__init__ = __init__
    parser_class.kiosk_kivy_init = kivy_init
    parser_class.kiosk_kv_cache = True


class _ParserHook:
    """A one-shot import hook (``sys.meta_path``) for :func:`install` before Kivy's language is
    imported: ``kivy/lang/builder.py`` ends by parsing Kivy's style.kv (1,340 lines, ~65 ms of CPU
    here, three to four times that on a Pi 4 core -- at every start), so the parser is made to keep
    parses the moment ``kivy.lang.parser`` has run, before the builder goes on to use it."""

    def find_spec(self, fullname: str, path, target=None):  # noqa: ANN001,ANN201 - importlib's protocol
        if fullname != "kivy.lang.parser":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path, target)
        run = getattr(spec.loader, "exec_module", None) if spec is not None else None
        if run is None:
            return spec                     # not a plain source module: Kivy as it comes

        def exec_module(module: types.ModuleType) -> None:
            run(module)
            _keep_parses(module.Parser)

        spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    """From now on Kivy's parser keeps the parse of ``.kv`` files (:func:`_keep_parses`).
    Idempotent.  Before ``kivy.lang`` is imported (kiosk/ui/kivyenv.py) that includes Kivy's own
    style.kv; after, it applies to every file loaded from then on."""
    module = sys.modules.get("kivy.lang.parser")
    if module is not None:
        _keep_parses(module.Parser)
    elif not any(isinstance(finder, _ParserHook) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ParserHook())


def kivy_style_file() -> Path:
    """Kivy's own rules (``kivy/data/style.kv``), parsed as ``kivy.lang`` is imported."""
    import kivy

    return Path(kivy.kivy_data_dir, "style.kv")


def precompile(kv_files: Iterable[Path] | None = None) -> list[Path]:
    """Keep the parse of each of ``kv_files`` -- by default every ``.kv`` file of the kiosk
    package and Kivy's style.kv: the install-time step, as pip compiles ``.pyc`` files.  Returns
    the caches written."""
    from kivy.lang.parser import Parser

    if kv_files is None:
        kv_files = [*sorted(Path(__file__).resolve().parent.parent.rglob("*.kv")), kivy_style_file()]
    written = []
    for kv_file in kv_files:
        content = kv_file.read_text(encoding="utf-8")
        path = cache_path(kv_file)
        fresh = object.__new__(Parser)              # parsed here, whatever is kept already
        vars(Parser).get("kiosk_kivy_init", Parser.__init__)(fresh, content=content, filename=str(kv_file))
        if write(path, dump(fresh, content)):
            written.append(path)
    return written


def main() -> int:
    """``python -m kiosk.ui.kvcache``: keep the parse of the kiosk's kv files and Kivy's style.kv;
    1 if none could be written."""
    import tempfile

    for name in ("KIVY_NO_ARGS", "KIVY_NO_CONFIG", "KIVY_NO_FILELOG", "KIVY_NO_CONSOLELOG"):
        os.environ.setdefault(name, "1")
    with tempfile.TemporaryDirectory(prefix="kvcache-kivy-") as kivy_home:
        os.environ.setdefault("KIVY_HOME", kivy_home)       # install.sh runs this as root: no /root/.kivy
        written = precompile()
    print(f"kv parse kept for {len(written)} files")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
