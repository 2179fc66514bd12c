"""Parsed kv files kept between starts, as Python keeps bytecode (issue 19: start-up).

Kivy parses every ``.kv`` file at every start (``kivy.lang.builder.Builder.load_string`` makes a
``kivy.lang.parser.Parser``): lines split, rules nested, each rule's expression compiled and its
watched keys found.  Before the first frame that is widgets.kv, root.kv and home.kv -- 8-10 ms of
CPU on this x86 machine, three to four times that on a Pi 4 core -- and every other screen's file as
prewarm builds it (all 21: ~60 ms here; kept, ~9).  The result depends only on the file's text, Kivy's version and Python's
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


def parse(kivy_parser: type, content: str, filename: str | None):  # noqa: ANN201 - a Parser
    """What ``Builder.load_string`` gets instead of ``Parser(content=..., filename=...)``: the kept
    parse of a ``.kv`` file when it matches, else a fresh one, kept for next time (written on a
    worker thread).  Strings without a ``.kv`` file name (``Builder.load_string`` in tests) are
    parsed as Kivy always did."""
    if not filename or not str(filename).endswith(".kv"):
        return kivy_parser(content=content, filename=filename)
    parser = load(filename, content)
    if parser is not None:
        return parser
    parser = kivy_parser(content=content, filename=filename)
    if sys.dont_write_bytecode:         # PYTHONDONTWRITEBYTECODE / -B: no .pyc, no kept parse either
        return parser
    try:
        data = dump(parser, content)
    except Exception as exc:  # noqa: BLE001 - an unpicklable rule: run uncached, as before
        log.debug("kv cache: %s not kept: %s", filename, exc)
        return parser
    threading.Thread(target=write, args=(cache_path(filename), data), name="kv-cache", daemon=True).start()
    return parser


def install() -> None:
    """From now on Kivy's Builder parses ``.kv`` files through :func:`parse`.  Idempotent; must
    run before the first ``.kv`` file is loaded to save its parse (kiosk/ui/kivyenv.py)."""
    from kivy.lang import builder

    if getattr(builder.Parser, "kiosk_kv_cache", False):
        return
    kivy_parser = builder.Parser

    def cached(**kwargs):  # noqa: ANN202 - Parser's keyword signature
        return parse(kivy_parser, kwargs.get("content"), kwargs.get("filename"))

    cached.kiosk_kv_cache = True
    builder.Parser = cached


def precompile(root: Path | None = None) -> list[Path]:
    """Keep the parse of every ``.kv`` file under ``root`` (the kiosk package): the install-time
    step, as pip compiles ``.pyc`` files.  Returns the caches written."""
    from kivy.lang.parser import Parser

    root = root or Path(__file__).resolve().parent.parent
    written = []
    for kv_file in sorted(root.rglob("*.kv")):
        content = kv_file.read_text(encoding="utf-8")
        path = cache_path(kv_file)
        if write(path, dump(Parser(content=content, filename=str(kv_file)), content)):
            written.append(path)
    return written


def main() -> int:
    """``python -m kiosk.ui.kvcache``: keep the parse of the kiosk's kv files; 1 if none could be written."""
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
