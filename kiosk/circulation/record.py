"""``@record``: a frozen value class, as ``@dataclass(frozen=True)`` makes one, with its methods
written once here instead of generated for each class.

A dataclass compiles its generated ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__`` and ``__delattr__`` from source text when its module is imported.  The five records
of a session view (kiosk.circulation.view) took ~4-5 ms of that on this x86 build machine -- ~15 ms
on a Raspberry Pi 4 core -- before the kiosk's first frame (issue 19: start-up).  A record is still a
dataclass (``dataclasses.fields``, ``replace``, ``asdict`` work), and behaves as a frozen one:
constructed by position or keyword in field order, equal and hashed by value, its repr lists its
fields, and assigning or deleting a field raises ``dataclasses.FrozenInstanceError``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


class Record:
    """The shared methods; subclasses are made with :func:`record`, which sets ``_fields`` (the
    field names in order) and ``_defaults`` (name -> default, for the fields that have one)."""

    _fields: tuple[str, ...] = ()
    _defaults: dict[str, Any] = {}

    def __init__(self, *args: Any, **kw: Any) -> None:
        names = self._fields
        cls = type(self).__name__
        if len(args) > len(names):
            raise TypeError(f"{cls}() takes {len(names)} positional arguments but {len(args)} were given")
        values = dict(zip(names, args, strict=False))       # the first len(args) fields
        for name, value in kw.items():
            if name in values:
                raise TypeError(f"{cls}() got multiple values for argument {name!r}")
            if name not in names:
                raise TypeError(f"{cls}() got an unexpected keyword argument {name!r}")
            values[name] = value
        own = self.__dict__
        for name in names:
            if name in values:
                own[name] = values[name]
            elif name in self._defaults:
                own[name] = self._defaults[name]
            else:
                raise TypeError(f"{cls}() missing required argument: {name!r}")

    def _values(self) -> tuple:
        own = self.__dict__
        return tuple(own[name] for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self._values(), strict=True))
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def record(cls: type[T]) -> type[T]:
    """Make ``cls`` (a subclass of :class:`Record` with annotated fields) a frozen value class.
    Defaults must be immutable values (no ``field(default_factory=...)``): they are shared."""
    cls = dataclasses.dataclass(init=False, repr=False, eq=False)(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if any(f.default_factory is not dataclasses.MISSING for f in fields):
        raise TypeError(f"{cls.__name__}: a record's defaults are plain values")
    cls._fields = tuple(f.name for f in fields)  # type: ignore[attr-defined]
    cls._defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}  # type: ignore[attr-defined]
    return cls
