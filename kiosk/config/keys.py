"""How a configuration key and a ``[section]`` are declared: ``opt`` and ``@section``.

Apart from the sections themselves so that both halves of the schema (``kiosk.config.service``,
``kiosk.config.appliance``) declare their keys the same way, and the schema's modules import each
other in one direction only (keys <- sections <- ``kiosk.config.schema``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def opt(default: Any, doc: str, choices: tuple[str, ...] | None = None, secret: bool = False,
        range: tuple[float, float, bool] | None = None) -> Any:  # noqa: A002 - reads as the key's range
    """A config key with a default, its help text, and optional allowed values.

    ``range`` is ``(low, high, low_exclusive)`` for a number; without it the range comes from
    :data:`kiosk.config.checks.RANGES` or the key's name (``*_s``, ``port``, ``*_pin`` ...).
    """
    meta = {"doc": doc, "choices": choices, "secret": secret, "range": range}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


class _Section:
    """What every section shares: one ``__init__``, one ``__repr__`` that never prints a secret,
    and ``__eq__``.

    Defined once here instead of generated per class by ``@dataclass``: a printed section cannot
    leak a password into a log or a support ticket, and the kiosk starts faster -- dataclasses
    compile each generated method at import, before the first frame: the 22 sections' ``__init__``
    alone took ~5 ms on this x86 machine (~17 ms on a Pi 4 core), 3.4 -> 0.9 ms for the twelve of
    kiosk.config.service.
    """

    __hash__ = None  # type: ignore[assignment]  (mutable, like a dataclass with eq)

    def __init__(self, **values: Any) -> None:
        """Keywords only, as the loader passes them (``cls(**values)``) and ``dataclasses.replace``
        does; a key the section lacks is a TypeError, as with a generated ``__init__``."""
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        unknown = values.keys() - {f.name for f in fields}
        if unknown:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {min(unknown)!r}")
        for f in fields:
            if f.name in values:
                value = values[f.name]
            elif f.default is not dataclasses.MISSING:
                value = f.default
            else:
                value = f.default_factory()  # type: ignore[misc]
            setattr(self, f.name, value)

    def __repr__(self) -> str:
        shown = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            shown.append(f"{f.name}={'***' if f.metadata.get('secret') and value else repr(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return vars(self) == vars(other)


def section(cls: type) -> type:
    """``@dataclass`` for a config section: fields, defaults and docs, with :class:`_Section`'s
    ``__init__``, repr and ``__eq__``."""
    return dataclass(init=False, repr=False, eq=False)(cls)
