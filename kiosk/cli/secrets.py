"""Secrets for command-line tools without putting them where ``ps`` shows them.

A PIN or password typed as ``--password s3cret`` is visible to every user of the machine (``ps``,
``/proc/*/cmdline``) and stays in the shell history.  Every command that takes one therefore also
accepts, in this order of preference::

    --password-file FILE     first line of FILE (e.g. a systemd credential, mode 0600)
    --password -             one line from stdin (a hidden prompt on a terminal)
    KIOSK_PASSWORD=...       the environment (PIN: KIOSK_PIN)

A secret given literally still works, with a one-line warning on stderr.  The same holds for
``--set ils.password=...`` and ``kiosk staff set ... ils.password=...``: ``-`` as the value reads
it from stdin.

Use::

    add_secret_argument(parser, "pin", "the patron's PIN")
    pin = resolve_secret(args, "pin")                      # None when none was given
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import IO

from kiosk.errors import ConfigError

#: environment variable of each kind of secret
ENV = {"pin": "KIOSK_PIN", "password": "KIOSK_PASSWORD"}
#: what --set / kiosk staff set values are secret (besides keys the config marks secret)
_SECRET_SUFFIXES = ("password", "token")
MAX_SECRET = 4096


def add_secret_argument(parser: argparse.ArgumentParser, name: str, help: str,  # noqa: A002 - argparse's word
                        **kwargs: object) -> None:
    """``--NAME VALUE`` (``-`` reads stdin) and ``--NAME-file FILE`` on ``parser``."""
    env = ENV.get(name, f"KIOSK_{name.upper()}")
    flag = name.replace("_", "-")
    parser.add_argument(f"--{flag}", dest=name, metavar=name.upper(), default=None,
                        help=f"{help}; '-' reads it from stdin, or set ${env} "
                             f"(a value here is visible to other users in ps)", **kwargs)
    parser.add_argument(f"--{flag}-file", dest=f"{name}_file", metavar="FILE", default=None,
                        help=f"read the {flag} from the first line of FILE")


def resolve_secret(args: argparse.Namespace, name: str, default: str | None = None, *,
                   stdin: IO[str] | None = None, stderr: IO[str] | None = None,
                   environ: Mapping[str, str] | None = None) -> str | None:
    """The secret ``name`` from its file, stdin, the literal option or the environment.

    Raises ConfigError (exit 1, one line) for an unreadable file, an empty stdin or both forms at
    once.  Returns ``default`` when none was given.
    """
    stdin = sys.stdin if stdin is None else stdin
    stderr = sys.stderr if stderr is None else stderr
    environ = os.environ if environ is None else environ
    flag = name.replace("_", "-")
    value = getattr(args, name, None)
    path = getattr(args, f"{name}_file", None)
    if value is not None and path is not None:
        raise ConfigError(f"--{flag} and --{flag}-file: give only one of them")
    if path is not None:
        return read_secret_file(path, f"--{flag}-file")
    if value == "-":
        return read_secret_line(stdin, f"--{flag} -", prompt=f"{flag}: ")
    if value is not None:
        warn_literal(f"--{flag}", stderr, name)
        return value
    env = ENV.get(name, f"KIOSK_{name.upper()}")
    if environ.get(env):
        return environ[env]
    return default


def warn_literal(what: str, stderr: IO[str] | None = None, name: str = "password") -> None:
    """The one-line warning for a secret typed on the command line."""
    env = ENV.get(name, "KIOSK_PASSWORD")
    if what.endswith("=..."):    # --set ils.password=... / kiosk staff set ils.password=...
        hint = f"{what[:-3]}- (read from stdin)"
    else:
        hint = f"{what} -, {what}-file FILE or ${env}"
    print(f"warning: a secret given as {what} is visible to other users (ps) and in shell history; "
          f"use {hint}", file=stderr or sys.stderr)


def read_secret_line(stream: IO[str], what: str, prompt: str = "secret: ") -> str:
    """One line from ``stream`` (a hidden prompt when it is a terminal), without its newline."""
    if stream is sys.stdin and stream.isatty():
        import getpass

        line = getpass.getpass(prompt)
    else:
        line = stream.readline(MAX_SECRET + 2)
        if not line:
            raise ConfigError(f"{what}: nothing to read on stdin (pipe the secret in, one line)")
    line = line.rstrip("\r\n")
    return _checked(line, what)


def read_secret_file(path: str, what: str) -> str:
    """The first line of ``path`` (a password file), or one ConfigError naming it."""
    if "\x00" in path:
        raise ConfigError(f"{what}: the file name must not contain a NUL character")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SECRET + 2)
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what}: {path} is not UTF-8 text") from None
    return _checked(text.splitlines()[0] if text else "", f"{what} {path}")


def _checked(secret: str, what: str) -> str:
    if not secret:
        raise ConfigError(f"{what}: the secret is empty")
    if len(secret) > MAX_SECRET or any(c in secret for c in "\x00\r\n"):
        raise ConfigError(f"{what}: expected one line of text without NUL characters")
    return secret


def is_secret_key(dotted: str) -> bool:
    """True for a ``section.key`` whose value is a secret (config metadata or its name)."""
    section, _, key = dotted.strip().partition(".")
    if key.endswith(_SECRET_SUFFIXES):
        return True
    from kiosk import config

    cls = config.SECTIONS.get(section)
    if cls is None:
        return False
    import dataclasses

    return any(f.name == key and f.metadata.get("secret") for f in dataclasses.fields(cls))


def resolve_secret_assignments(items: list[str], *, stdin: IO[str] | None = None,
                               stderr: IO[str] | None = None, option: str = "--set",
                               quote: bool = True) -> list[str]:
    """``section.key=value`` items with ``-`` values of secret keys read from stdin.

    A secret key given literally is kept, with the warning.  Other items pass unchanged.
    ``quote``: the value read is written as a TOML string (for ``--set``, which parses values
    as TOML); without it the text is passed as it is (``kiosk staff set`` takes text for text keys).
    """
    out = []
    for item in items:
        dotted, eq, value = item.partition("=")
        if eq and is_secret_key(dotted):
            if value.strip() == "-":
                secret = read_secret_line(sys.stdin if stdin is None else stdin, f"{option} {dotted.strip()}=-",
                                          prompt=f"{dotted.strip()}: ")
                # a TOML string, so the config reads exactly the secret (quotes, # and all)
                item = f"{dotted}={_toml_string(secret) if quote else secret}"
            elif value.strip():
                warn_literal(f"{option} {dotted.strip()}=...", stderr)
        out.append(item)
    return out


def _toml_string(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)   # a JSON string is a valid TOML basic string


#: SIP2 fields that carry a secret: login password (CO), patron password/PIN (AD), terminal
#: password (AC)
SIP2_SECRET_FIELDS = ("CO", "AD", "AC")


def mask_sip2_frame(text: str) -> str:
    """A SIP2 frame for display with every secret field's value replaced by ``****``."""
    import re

    return re.sub(r"\|(" + "|".join(SIP2_SECRET_FIELDS) + r")[^|\r\n]*",
                  lambda m: f"|{m.group(1)}****" if len(m.group(0)) > 3 else m.group(0), text)
