"""The SIP2 record model: the ``Message`` base, the field descriptors and the message table.

Every message is a small frozen dataclass whose fields say where they live on the wire:
``fixed(width, kind)`` for the positional part after the 2-character code, ``var(id, kind)`` for the
``|``-terminated identified fields (the shape of Koha's ``%handlers`` table in
``C4/SIP/Sip/MsgType.pm``, re-derived from the 3M SIP2 2.00 specification, section 1.5).  The
:func:`message` decorator makes a class such a record and enters it in ``MESSAGES``.

Apart from the field codec (kiosk/sip2/fieldcodec.py) because this is what a record *is* -- the
types the kiosk, the demo library and the tests build and read -- while the codec is how records
become text; the record types themselves are in kiosk/sip2/messages/.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, TypeVar, dataclass_transform

__all__ = ["MESSAGES", "REQUESTS", "RESPONSES", "RESPONSE_TO", "Message", "fixed", "fixed_length",
           "message", "var"]

_M = TypeVar("_M", bound=type)


# Fixed kinds: "str" (exact width), "yn" (Y/N; None = 'U' unknown or anything else received),
# "01" ('1'/'0'), "date" (18-char SIP date, None = blanks), "count" (N digits, None = blanks).
# Variable kinds: "req" (always written, "" when missing), "opt" (None = left out), "yn"
# (optional Y/N), "list" (repeatable, tuple).

def fixed(width: int, kind: str = "str", default: Any = None) -> Any:
    if default is None and kind == "str":
        default = " " * width
    return field(default=default, metadata={"fixed": width, "kind": kind})


def var(fid: str, kind: str = "opt") -> Any:
    default: Any = {"req": "", "opt": None, "yn": None, "list": ()}[kind]
    return field(default=default, metadata={"id": fid, "kind": kind})


class _FixedSpec(NamedTuple):
    name: str
    width: int
    kind: str


class _VarSpec(NamedTuple):
    name: str
    fid: str
    kind: str


@dataclass(frozen=True, kw_only=True)
class Message:
    """Base of every SIP2 record.  ``extra`` keeps identified fields this codec does not know
    (vendor extensions such as Koha's PB/PC/PI, duplicates), in the order received."""

    code: ClassVar[str] = ""
    extra: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # Accept a single string for repeatable fields: CheckoutResponse(screen_messages="No").
        for name in _list_fields(type(self)):
            v = getattr(self, name)
            if type(v) is not tuple:
                object.__setattr__(self, name, (v,) if isinstance(v, str) else tuple(v))

    @property
    def screen_message(self) -> str:
        """All AF screen messages joined for display ("" when the message has none)."""
        return " ".join(m.strip() for m in getattr(self, "screen_messages", ()) if m.strip())

    @property
    def print_line(self) -> str:
        return " ".join(m.strip() for m in getattr(self, "print_lines", ()) if m.strip())

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (dates as ISO text), with the message code and name."""
        out: dict[str, Any] = {"code": self.code, "message": type(self).__name__}
        for name in _field_names(type(self)):
            v = getattr(self, name)
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, tuple):
                v = [list(x) if isinstance(x, tuple) else x for x in v]
            out[name] = v
        return out


_NAMES_CACHE: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    got = _NAMES_CACHE.get(cls)
    if got is None:
        got = _NAMES_CACHE[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return got


_SPEC_CACHE: dict[type, tuple[tuple[_FixedSpec, ...], tuple[_VarSpec, ...], dict[str, _VarSpec]]] = {}


def _specs(cls: type) -> tuple[tuple[_FixedSpec, ...], tuple[_VarSpec, ...], dict[str, _VarSpec]]:
    got = _SPEC_CACHE.get(cls)
    if got is None:
        fx = tuple(_FixedSpec(f.name, f.metadata["fixed"], f.metadata["kind"])
                   for f in dataclasses.fields(cls) if "fixed" in f.metadata)
        vs = tuple(_VarSpec(f.name, f.metadata["id"], f.metadata["kind"])
                   for f in dataclasses.fields(cls) if "id" in f.metadata)
        got = _SPEC_CACHE[cls] = (fx, vs, {v.fid: v for v in vs})
    return got


_LIST_CACHE: dict[type, tuple[str, ...]] = {}


def _list_fields(cls: type) -> tuple[str, ...]:
    got = _LIST_CACHE.get(cls)
    if got is None:
        got = _LIST_CACHE[cls] = tuple(v.name for v in _specs(cls)[1] if v.kind == "list")
    return got


def fixed_length(cls: type) -> int:
    """Length of the fixed part after the 2-character code."""
    return sum(s.width for s in _specs(cls)[0])


MESSAGES: dict[str, type[Message]] = {}
REQUESTS: dict[str, type[Message]] = {}    # SC -> ACS (what the kiosk sends)
RESPONSES: dict[str, type[Message]] = {}   # ACS -> SC (what the library system answers)


def _fast_init(cls: type) -> Callable[..., None]:
    """The same keyword-only ``__init__`` as the dataclass one, writing the instance dict in one go.

    The generated frozen-dataclass ``__init__`` calls ``object.__setattr__`` once per field and then
    ``__post_init__``: a third of the cost of building, encoding and sending a request.  This one
    takes the same arguments and defaults and applies ``Message.__post_init__``'s rule inline."""
    fields = [f for f in dataclasses.fields(cls) if f.init]
    lists = set(_list_fields(cls))
    ns: dict[str, Any] = {f"_d_{f.name}": f.default for f in fields}
    args = ", ".join(f"{f.name}=_d_{f.name}" for f in fields)
    body = [f"    if type({n}) is not tuple:\n        {n} = ({n},) if isinstance({n}, str) else tuple({n})"
            for n in sorted(lists)]
    body.append(f"    self.__dict__.update({{{', '.join(f'{f.name!r}: {f.name}' for f in fields)}}})")
    src = f"def __init__(self, *, {args}):\n" + "\n".join(body)
    exec(compile(src, f"<sip2 init {cls.__name__}>", "exec"), ns)  # noqa: S102 - our own field names
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    return init


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(fixed, var))
def message(code: str, direction: str) -> Callable[[_M], _M]:
    """Make ``cls`` a frozen keyword-only record for message ``code`` and enter it in the table
    (``direction``: "request" from the kiosk, "response" from the library system)."""
    def register(cls: _M) -> _M:
        cls = dataclass(frozen=True, kw_only=True)(cls)
        cls.code = code
        MESSAGES[code] = cls
        (REQUESTS if direction == "request" else RESPONSES)[code] = cls
        fields = dataclasses.fields(cls)
        if (cls.__post_init__ is Message.__post_init__ and "__init__" in cls.__dict__
                and all(f.default is not dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                        for f in fields if f.init)):
            cls.__init__ = _fast_init(cls)  # type: ignore[misc]
        return cls
    return register


#: The reply code expected for each request code (Block Patron 01 is answered with 24).
RESPONSE_TO: dict[str, str] = {
    "93": "94", "99": "98", "23": "24", "63": "64", "11": "12", "09": "10", "29": "30",
    "65": "66", "17": "18", "35": "36", "37": "38", "15": "16", "01": "24", "25": "26",
    "19": "20", "97": "",  # 97: the server resends its last reply, whatever code it had
}
