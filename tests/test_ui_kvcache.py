"""Parsed kv files kept between starts (kiosk/ui/kvcache.py, issue 19: start-up).

The time saved is a benchmark (bench/bench_ui.py start-up); here: a kept parse is the same rule
tree Kivy's own parser makes (for every kv file the kiosk ships), widgets built from it behave the
same, a second load does not parse, a changed, damaged or foreign cache is parsed again rather than
trusted, nothing is written where Python writes no bytecode or cannot write, ``#:import`` still
reaches Kivy's id map, and the kiosk's Kivy set-up and the installer's precompile step use it.
"""

from __future__ import annotations

import os
import sys
import time
import types
from pathlib import Path

import pytest

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")

from kivy.lang import Builder, builder, global_idmap  # noqa: E402
from kivy.lang.parser import Parser  # noqa: E402
from kivy.properties import NumericProperty, StringProperty  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402

from kiosk.ui import kvcache  # noqa: E402

KIOSK = Path(kvcache.__file__).resolve().parent.parent
KV_FILES = sorted(KIOSK.rglob("*.kv"))


class KvCacheProbe(Widget):
    n = NumericProperty(0)
    label = StringProperty("")


PROBE_KV = """#:import kvcache_probe_path os.path
<KvCacheProbe>:
    label: "n=%d %s" % (self.n, kvcache_probe_path.sep)
    size_hint: None, None
    width: self.n * 2 + 10
    canvas.before:
        Color:
            rgba: 1, 0, 0, 1
"""


def _shape(value):  # noqa: ANN001,ANN202 - any part of a parse
    """A parse as plain data: rules, selectors, properties with their compiled code's bytecode and
    constants, watched keys -- everything Builder reads from it."""
    if isinstance(value, types.CodeType):
        return ("code", value.co_code, tuple(_shape(c) for c in value.co_consts), value.co_names,
                value.co_filename, value.co_firstlineno)
    if isinstance(value, (list, tuple)):
        return tuple(_shape(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, _shape(v)) for k, v in value.items())
    if isinstance(value, Parser):
        return ("parser", _shape(value.rules), _shape(value.templates), _shape(value.root),
                _shape(value.dynamic_classes), value.directives, value.filename)
    slots = getattr(type(value), "__slots__", None)
    if slots and type(value).__module__ == "kivy.lang.parser":
        return (type(value).__name__, *(_shape(getattr(value, s)) for s in slots if s != "ctx"))
    if type(value).__module__ == "kivy.lang.parser":          # selectors
        return (type(value).__name__, _shape(vars(value)))
    return value


@pytest.fixture
def writes(monkeypatch):
    """Caches are written as by a developer's tree (whatever PYTHONDONTWRITEBYTECODE says here),
    and the write threads are waited for."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)        # beside the file (tests/conftest.py sets one)

    def settled(path: Path) -> Path:
        deadline = time.monotonic() + 10
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return path

    return settled


@pytest.fixture
def counting(kivy_parser_as_shipped):
    """Kivy's Parser kept the kiosk's way (:func:`kvcache._keep_parses`, what ``install`` does),
    counting the files it really parses."""
    parsed: list[str] = []
    kivy_init = Parser.__init__

    def counting_init(self, **kwargs):  # noqa: ANN001,ANN003,ANN202
        parsed.append(kwargs["filename"])
        kivy_init(self, **kwargs)

    Parser.__init__ = counting_init
    kvcache._keep_parses(Parser)

    def parser(**kwargs):  # noqa: ANN003,ANN202
        return Parser(**kwargs)

    parser.parsed = parsed
    return parser


@pytest.mark.parametrize("kv_file", KV_FILES, ids=lambda p: p.name)
def test_a_kept_parse_is_the_rule_tree_kivy_parses(kv_file, kivy_parser_as_shipped):
    content = kv_file.read_text(encoding="utf-8")
    fresh = Parser(content=content, filename=str(kv_file))
    kept = kvcache.from_bytes(kvcache.dump(fresh, content), content)
    assert kept is not None and kept is not fresh
    assert _shape(kept) == _shape(fresh)
    assert kept.rules, "a kiosk kv file without rules"


def test_the_second_load_reads_the_kept_parse(tmp_path, writes, counting):
    kv = tmp_path / "probe.kv"
    kv.write_text(PROBE_KV)
    first = counting(content=PROBE_KV, filename=str(kv))
    assert writes(kvcache.cache_path(kv)).exists()
    second = counting(content=PROBE_KV, filename=str(kv))
    assert counting.parsed == [str(kv)]                   # parsed once, then read back
    assert _shape(second) == _shape(first)
    assert kvcache.cache_path(kv).parent == tmp_path / "__pycache__"
    assert sys.implementation.cache_tag in kvcache.cache_path(kv).name    # not read by another Python


def test_a_changed_file_is_parsed_again_and_kept_anew(tmp_path, writes, counting):
    kv = tmp_path / "probe.kv"
    counting(content=PROBE_KV, filename=str(kv))
    writes(kvcache.cache_path(kv))
    changed = PROBE_KV.replace("* 2 + 10", "* 3 + 10")
    before = kvcache.cache_path(kv).read_bytes()
    parser = counting(content=changed, filename=str(kv))
    assert counting.parsed == [str(kv), str(kv)]
    assert "* 3 + 10" in parser.rules[0][1].properties["width"].value
    deadline = time.monotonic() + 10
    while kvcache.cache_path(kv).read_bytes() == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert kvcache.load(kv, changed) is not None and kvcache.load(kv, PROBE_KV) is None


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "foreign pickle", "not a cache"])
def test_a_damaged_cache_is_parsed_again_not_an_error(tmp_path, writes, counting, damage):
    kv = tmp_path / "probe.kv"
    counting(content=PROBE_KV, filename=str(kv))
    path = writes(kvcache.cache_path(kv))
    data = path.read_bytes()
    import marshal
    import pickle

    text = marshal.dumps(PROBE_KV)          # what a kept parse starts with: the text it came from
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": text + b"\x80\x05not a pickle",
                      "empty": b"", "foreign pickle": text + pickle.dumps({"rules": []}),
                      "not a cache": b"\x00\x01\x02 junk"}[damage])
    assert kvcache.load(kv, PROBE_KV) is None
    parser = counting(content=PROBE_KV, filename=str(kv))
    assert counting.parsed == [str(kv), str(kv)] and parser.rules


def test_nothing_is_written_where_python_writes_no_bytecode(tmp_path, monkeypatch, counting):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    kv = tmp_path / "probe.kv"
    assert counting(content=PROBE_KV, filename=str(kv)).rules
    time.sleep(0.2)
    assert not (tmp_path / "__pycache__").exists()


def test_under_a_bytecode_prefix_it_goes_where_the_pyc_would(tmp_path, writes, monkeypatch, counting):
    """PYTHONPYCACHEPREFIX (the test suite's, tests/conftest.py): nothing beside the sources."""
    source, prefix = tmp_path / "src", tmp_path / "prefix"
    source.mkdir()
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    kv = source / "probe.kv"
    counting(content=PROBE_KV, filename=str(kv))
    kept = writes(kvcache.cache_path(kv))
    assert kept.is_relative_to(prefix) and kept.parent == prefix / str(source).lstrip(os.sep)
    assert list(source.iterdir()) == []
    counting(content=PROBE_KV, filename=str(kv))
    assert counting.parsed == [str(kv)]


def test_an_unwritable_place_is_not_an_error(tmp_path, writes, counting):
    (tmp_path / "__pycache__").write_text("a file where the directory would go")
    kv = tmp_path / "probe.kv"
    assert kvcache.write(kvcache.cache_path(kv), b"x") is False
    assert counting(content=PROBE_KV, filename=str(kv)).rules
    assert counting(content=PROBE_KV, filename=str(kv)).rules
    assert counting.parsed == [str(kv), str(kv)]
    assert [p.name for p in tmp_path.iterdir()] == ["__pycache__"]     # no temporary file left


def test_strings_without_a_kv_file_are_parsed_as_kivy_always_did(tmp_path, writes, counting):
    for _ in range(2):
        counting(content=PROBE_KV, filename="inline-probe")
        counting(content=PROBE_KV, filename=None)
    time.sleep(0.2)
    assert counting.parsed == ["inline-probe", None] * 2
    assert not (tmp_path / "__pycache__").exists() and not Path("__pycache__", "inline-probe").exists()


@pytest.fixture
def kivy_parser_as_shipped():
    """Kivy's Parser class without the kiosk's keeping (a test of the GUI earlier in the session
    may have set the kiosk up), put back exactly as it was afterwards."""
    names = ("__init__", "kiosk_kv_cache", "kiosk_kivy_init")
    saved = {name: vars(Parser)[name] for name in names if name in vars(Parser)}
    Parser.__init__ = saved.get("kiosk_kivy_init", saved["__init__"])
    for name in names[1:]:
        if name in vars(Parser):
            delattr(Parser, name)
    yield Parser
    for name in names:
        if name in saved:
            setattr(Parser, name, saved[name])
        elif name in vars(Parser):
            delattr(Parser, name)


def test_kivys_parser_hands_out_the_kept_parse(tmp_path, writes, kivy_parser_as_shipped):
    """What Builder gets from ``Parser(content=..., filename=...)`` once installed: the kept parse
    (proved by keeping a different one under the right text), a fresh one kept for next time;
    strings without a file and subclasses as Kivy always did; a kept parse copied with its file
    (a moved tree) answers to the file's new path, which Builder.unload_file goes by."""
    kvcache.install()
    kvcache.install()                                       # idempotent: not wrapped twice
    assert Parser.kiosk_kv_cache
    kv = tmp_path / "probe.kv"
    fresh = Parser(content=PROBE_KV, filename=str(kv))
    assert fresh.rules and writes(kvcache.cache_path(kv)).exists()
    assert _shape(Parser(content=PROBE_KV, filename=str(kv))) == _shape(fresh)
    variant = PROBE_KV.replace("* 2 + 10", "* 5 + 10")
    kept = kvcache.dump(Parser(content=variant, filename="elsewhere"), variant)
    import marshal

    kvcache.write(kvcache.cache_path(kv), marshal.dumps(PROBE_KV) + kept[len(marshal.dumps(variant)):])
    read = Parser(content=PROBE_KV, filename=str(kv))
    assert "* 5 + 10" in read.rules[0][1].properties["width"].value        # read, not parsed
    assert "* 2 + 10" in Parser(content=PROBE_KV, filename=None).rules[0][1].properties["width"].value

    class Subclass(Parser):
        __slots__ = ()

    assert "* 2 + 10" in Subclass(content=PROBE_KV, filename=str(kv)).rules[0][1].properties["width"].value
    moved = tmp_path / "moved" / "probe.kv"
    kvcache.write(kvcache.cache_path(moved), kvcache.cache_path(kv).read_bytes())
    assert Parser(content=PROBE_KV, filename=str(moved)).rules[0][1].ctx.filename == str(moved)


def test_widgets_built_from_a_kept_parse_behave_as_kivys(tmp_path, writes, kivy_parser_as_shipped):
    """Through Builder itself, as the kiosk loads its files: the #:import reaches Kivy's id map
    again (a fresh parse runs it while reading), the rules bind and re-evaluate."""
    kv = tmp_path / "kvcache_probe.kv"
    kv.write_text(PROBE_KV)
    kvcache.install()
    try:
        Builder.load_file(str(kv))
        writes(kvcache.cache_path(kv))
        Builder.unload_file(str(kv))
        global_idmap.pop("kvcache_probe_path", None)
        Builder.load_file(str(kv))                          # from the kept parse
        assert global_idmap["kvcache_probe_path"] is os.path
        probe = KvCacheProbe()
        assert (probe.label, probe.width, probe.size_hint) == (f"n=0 {os.sep}", 10, [None, None])
        probe.n = 7
        assert (probe.label, probe.width) == (f"n=7 {os.sep}", 24)
    finally:
        Builder.unload_file(str(kv))


def test_the_kiosk_kivy_setup_installs_it(tmp_path, monkeypatch, kivy_parser_as_shipped):
    from kiosk.ui import kivyenv

    monkeypatch.setattr(builder, "call_fn", builder.call_fn)
    kivyenv.prepare(tmp_path / "kivy")
    assert vars(Parser).get("kiosk_kv_cache")


def test_the_install_step_keeps_every_kv_file(tmp_path):
    """One kept parse per kv file given, each one load() accepts."""
    files = [tmp_path / "a.kv", tmp_path / "screens/b.kv"]
    for kv in files:
        kv.parent.mkdir(parents=True, exist_ok=True)
        kv.write_text(PROBE_KV.replace("KvCacheProbe", f"KvCacheProbe{len(kv.name)}"))
    assert kvcache.precompile(files) == [kvcache.cache_path(kv) for kv in files]
    for kv in files:
        assert kvcache.load(kv, kv.read_text()) is not None


def _fresh_kivy(tmp_path: Path, prefix: Path, script: str, **env: str):  # noqa: ANN202
    import subprocess

    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environ.update(KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", KIVY_NO_CONFIG="1",
                   KIVY_HOME=str(tmp_path / "kivy"), PYTHONPYCACHEPREFIX=str(prefix), **env)
    return subprocess.run([sys.executable, *script], capture_output=True, text=True, timeout=120, env=environ)


STYLE_PROBE = """import sys
from kiosk.ui import kvcache
read = []
load = kvcache.load
def recording(kv_file, content):
    parse = load(kv_file, content)
    read.append((str(kv_file).endswith("kivy/data/style.kv"), parse is not None))
    return parse
kvcache.load = recording
kvcache.install()
from kivy.lang import Builder
from kivy.uix.label import Label
from kivy.uix.button import Button
assert Builder.match(Label()) and Builder.match(Button()), "Kivy's own rules missing"
print(read)
"""


WAIT_FOR_WRITES = """import threading
for thread in threading.enumerate():
    if thread.name == "kv-cache":
        thread.join(30)
"""


def test_kivys_own_style_kv_is_read_back_as_kivy_lang_is_imported(tmp_path, monkeypatch):
    """Kivy parses its 1,340-line style.kv inside ``import kivy.lang`` (~65 ms of CPU here, at
    every start).  The install step keeps it beside the kiosk's files; a fresh interpreter that
    installs the kiosk's keeping before ``kivy.lang`` reads it back, and Kivy's widgets still get
    their rules.  Without a kept parse the first start parses it and keeps it."""
    prefix = tmp_path / "pyc"
    step = _fresh_kivy(tmp_path, prefix, ["-m", "kiosk.ui.kvcache"])
    assert step.returncode == 0, step.stderr
    assert f"kept for {len(KV_FILES) + 1} files" in step.stdout
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    assert kvcache.cache_path(kvcache.kivy_style_file()).exists()
    out = _fresh_kivy(tmp_path, prefix, ["-c", STYLE_PROBE])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[(True, True)]"
    empty = tmp_path / "empty-pyc"
    first = _fresh_kivy(tmp_path, empty, ["-c", STYLE_PROBE + WAIT_FOR_WRITES])
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "[(True, False)]"                  # parsed...
    again = _fresh_kivy(tmp_path, empty, ["-c", STYLE_PROBE])
    assert again.stdout.strip() == "[(True, True)]"                   # ...and kept by the first start


def test_reading_a_kept_parse_imports_neither_hashlib_nor_pickle(tmp_path, kivy_parser_as_shipped):
    """Before the first frame every millisecond counts: hashlib (OpenSSL) and pickle.py cost ~7 ms
    to import here -- what the cache saves.  A fresh interpreter reads a kept parse without them."""
    import subprocess

    kv = tmp_path / "probe.kv"
    kv.write_text(PROBE_KV)
    data = kvcache.dump(Parser(content=PROBE_KV, filename=str(kv)), PROBE_KV)
    assert kvcache.write(kvcache.cache_path(kv), data)
    script = ("import sys\nfrom kiosk.ui import kvcache\nimport kivy.lang.parser\n"
              f"assert kvcache.load({str(kv)!r}, open({str(kv)!r}).read()).rules\n"
              "print(sorted({'hashlib', 'pickle', '_hashlib'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1",
                              "KIVY_HOME": str(tmp_path / "kivy")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
