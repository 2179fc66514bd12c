"""Walk the README as a newcomer on a fresh clone: every command it shows, typed as written.

No ``--config``, no display, a temporary HOME and demo data directory (``KIOSK_DEMO_DATA_DIR``, as
the README says), nothing started beforehand: the demo library system must come up on demand.
Each command line of the Commands / demo sections (the "try it" column and the ``sh`` blocks) runs
literally through the shell; it fails on a traceback, on an exit code the README does not document
(every one of these must complete: 0), or when the output does not do what its row says.  Every
synopsis in every README table must name a command that exists (``--help`` exits 0).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from kiosk.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent

# Sections whose command lines are promised to work as written on a fresh clone.
WALKED_SECTIONS = ("## Two commands", "## Commands", "## The demo library system")
# Shown in the README but not run here, each with the reason.
NOT_RUN = {
    "make demo": "the set-up and a three-minute tour, beyond the suite's time budget (its progress lines: "
                 "tests/test_demo_defaults.py; the window's panel: tests/test_simpanel.py)",
    "make test": "the suite itself",
    "kiosk demo": "opens a window until closed; the window with its panel is tested headless in tests/test_simpanel.py",
}


def _section(title: str) -> str:
    start = README.find(title)
    if start < 0:
        return ""
    end = README.find("\n## ", start + len(title))
    return README[start:end if end > 0 else None]


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def _spans(cell: str) -> list[str]:
    return [s.replace("\\|", "|") for s in re.findall(r"`([^`]+)`", cell)]


def literal_commands() -> list[str]:
    """Command lines to run as written, in README order: the last table column ("try it") and
    the lines of ``sh`` blocks."""
    lines: list[str] = []
    for title in WALKED_SECTIONS:
        in_sh = False
        for row in _section(title).splitlines():
            if row.startswith("```"):
                in_sh = not in_sh and row.strip() == "```sh"
                continue
            if in_sh:
                line = re.sub(r"\s+#.*$", "", row).strip()
                if line:
                    lines.append(line)
            elif row.startswith("|") and not set(row) <= set("|-: "):
                cells = _cells(row)
                if len(cells) >= 3 and cells[0] != "command":
                    lines.extend(s for s in _spans(cells[-1]) if s.startswith("kiosk"))
    return lines


def synopses() -> list[list[str]]:
    """``kiosk a b`` argument lists named by every README table's first column (alternatives
    ``x|y`` expanded): each must be a command that exists."""
    out: list[list[str]] = []
    for row in README.splitlines():
        if not row.startswith("|"):
            continue
        for span in _spans(_cells(row)[0]):
            if not span.startswith("kiosk "):
                continue
            words: list[str] = []
            for token in span.split()[1:]:
                if token == "…":
                    continue
                if re.fullmatch(r"[a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)+", token):
                    out.extend([*words, alt] for alt in token.split("|"))
                    words = []
                    break
                if not re.fullmatch(r"[a-z][a-z0-9-]*", token):
                    break
                words.append(token)
            if words:
                out.append(words)
    return out


def documented_exit_codes() -> set[int]:
    return {int(m) for m in re.findall(r"^\| (\d+) \|", _section("## Commands"), flags=re.M)}


# ------------------------------------------------------------------------- what each row promises
def _json(out: str) -> dict:
    data = json.loads(out)
    assert isinstance(data, dict), "one JSON object per invocation"
    return data


def _checkout(out: str, _ctx: dict) -> None:
    data = _json(out)
    assert data["items"] and all(i["state"] in ("done", "refused") for i in data["items"])
    for item in data["items"]:
        if item["state"] == "done":
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", item["due_date"]), item
            assert item["due"] is None or "T" in item["due"], "ISO 8601 times everywhere"
        else:
            assert item["reason_key"] and item["reason_text"], "a refusal says why"


def _return(out: str, _ctx: dict) -> None:
    data = _json(out)
    assert [i["state"] for i in data["items"]] == ["done"]


def _stats(out: str, _ctx: dict) -> None:
    today = [ln for ln in out.splitlines() if ln.startswith(date.today().isoformat())]
    assert today and int(today[0].split()[1]) >= 1, "the CLI's checkout counts in the statistics"


def _decode(out: str, _ctx: dict) -> None:
    data = _json(out)
    assert data["primary_item_id"] == "3900000002" and data["crc_ok"] is True


CHECKS = {
    "kiosk config check": lambda out, ctx: "OK" in out,
    "kiosk sip2 status": lambda out, ctx: _json(out)["message"] == "AcsStatusResponse" and _json(out)["online_status"],
    "kiosk sip2 patron": lambda out, ctx: _json(out)["valid_patron"] is True and _json(out)["valid_patron_password"],
    "kiosk sip2 item": lambda out, ctx: _json(out)["message"] == "ItemInformationResponse",
    "kiosk checkout": _checkout,
    "kiosk return": _return,
    "kiosk journal list": lambda out, ctx: _json(out)["counts"].get("done", 0) >= 2,
    "kiosk journal export": lambda out, ctx: out.startswith("{"),
    "kiosk journal sync": lambda out, ctx: _json(out)["remaining"] == 0,
    "kiosk demo-ils --export-json": lambda out, ctx: (len(_json(out)["patrons"]), len(_json(out)["items"])) == (32, 208),
    "kiosk demo-ils --export-state": lambda out, ctx: len(_json(out)["items"]) == 208,
    "kiosk demo-ils --status": lambda out, ctx: _json(out)["running"] is True,
    "kiosk demo-ils --stop": lambda out, ctx: _json(out)["stopped"] is True,
    "kiosk tag encode": lambda out, ctx: re.fullmatch(r"[0-9A-F]+\n", out) is not None,
    "kiosk tag decode": _decode,
    "kiosk doctor": lambda out, ctx: "PASS  library_system" in out and "FAIL" not in out,
    "kiosk report returns": lambda out, ctx: _json(out)["counts"]["drops"] == 0,
    "kiosk report bin": lambda out, ctx: "0 items in the bin" in out,
    "kiosk staff stats": _stats,
    "kiosk staff check-secrets": lambda out, ctx: "config/demo.toml" in out,
    "echo 2468 | kiosk staff hash-pin": lambda out, ctx: out.startswith('pin_hash = "scrypt$'),
}


def _check_for(line: str):  # noqa: ANN202
    best = max((k for k in CHECKS if line.startswith(k)), key=len, default=None)
    return CHECKS[best] if best else None


# ------------------------------------------------------------------------------------- tests
def test_readme_lists_what_this_walk_runs():
    lines = literal_commands()
    # The commands the issue names are in the README as written, without --config.
    for must in ("kiosk checkout --patron 2000000001 3900000002", "kiosk return 3900000002",
                 "kiosk journal list", "kiosk doctor", "kiosk report returns", "kiosk staff stats",
                 "kiosk demo-ils --export-json", "kiosk tag encode --model 3m --item 3900000002"):
        assert must in lines
    assert any(ln.startswith("kiosk sip2 patron") for ln in lines)
    assert not any("--config" in ln for ln in lines)
    assert documented_exit_codes() >= {0, 1, 2, 3, 4, 5, 64, 130}


def test_every_readme_synopsis_is_a_command(capsys):
    seen = synopses()
    assert len(seen) >= 20
    for words in seen:
        with pytest.raises(SystemExit) as exc:
            main([*words, "--help"])
        assert exc.value.code == 0, f"README names `kiosk {' '.join(words)}`, which does not exist"
    capsys.readouterr()


def test_walk_the_readme_as_written(tmp_path, monkeypatch):
    from kiosk.demo_ils import daemon
    from kiosk.demo_ils.db import LibraryDb

    demo_dir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items()
           if k not in ("KIOSK_CONFIG", "DISPLAY", "WAYLAND_DISPLAY", "KIOSK_LOG_LEVEL")}
    env.update(HOME=str(tmp_path / "home"), KIOSK_DEMO_DATA_DIR=str(demo_dir),
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    monkeypatch.setenv("KIOSK_DEMO_DATA_DIR", str(demo_dir))   # for the in-process checks below
    documented = documented_exit_codes()
    ran: list[str] = []
    try:
        for line in literal_commands():
            if line in NOT_RUN or line.startswith("make "):
                continue
            proc = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=90)
            where = f"`{line}` (exit {proc.returncode})\nstdout: {proc.stdout[:600]}\nstderr: {proc.stderr[:600]}"
            assert "Traceback" not in proc.stderr, where
            assert proc.returncode in documented, "undocumented exit code: " + where
            assert proc.returncode == 0, where
            check = _check_for(line)
            if check is not None:
                try:
                    ok = check(proc.stdout, {})
                except (ValueError, KeyError, TypeError, AssertionError) as exc:
                    raise AssertionError(f"{where}\n{exc!r}") from exc
                assert ok is not False, "does not do what the README says: " + where
            ran.append(line)
            if line == "kiosk checkout --patron 2000000001 3900000002":
                # One demo library: the checkout reached the library `kiosk demo` uses.
                demo = daemon.demo_settings()
                assert Path(demo.data_dir) == demo_dir.resolve()
                db = LibraryDb(daemon.db_path(demo.data_dir))
                try:
                    assert db.checkouts_of("3900000002"), "the CLI's checkout is in the demo library"
                finally:
                    db.close()
        assert len(ran) >= 20
        assert daemon.read_state(demo_dir) is None, "`kiosk demo-ils --stop` stopped the background library"
    finally:
        daemon.stop(demo_dir)


def test_broken_pipe_is_quiet(tmp_path):
    env = dict(os.environ, KIOSK_DEMO_DATA_DIR=str(tmp_path / "demo"), HOME=str(tmp_path))
    proc = subprocess.run(["bash", "-o", "pipefail", "-c",
                           f"{BIN / 'kiosk'} demo-ils --export-json | head -1"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout == "{\n"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 0


def test_docs_name_no_path_outside_the_repository():
    """A newcomer's clone has no /work/shared or ../shared: docs name public sources instead."""
    outside = re.compile(r"(?<![\w.])(/work/|/root/|/home/\w|\.\./shared|/tmp/kiosk)")
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    hits = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in docs
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if outside.search(line)]
    assert hits == []
