"""Log-line templates: ``{type} {name} {rcode} ...`` filled in per query from the request and the reply.

A format string is parsed once (``Replacer(fmt)``) into literals and value functions, so a query only
pays for the placeholders the format uses. Placeholders, as CoreDNS's ``plugin/pkg/replacer``:

- request: ``{type} {name} {class} {proto} {size} {remote} {port} {local}``
- request header: ``{>id} {>opcode} {>do} {>bufsize}``
- reply (need a recording): ``{rcode} {rsize} {duration} {>rflags}``
- metadata: ``{/LABEL}`` (``-`` when the label is not set)

An unknown ``{...}`` stays as literal text; a value that is not known is ``-``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import dns.flags
import dns.message
import dns.rcode

from kdns.request import Request

__all__ = ["COMBINED_LOG_FORMAT", "COMMON_LOG_FORMAT", "EMPTY", "Recorded", "Replacer", "format_duration"]

#: the value of a placeholder that has no value
EMPTY = "-"
COMMON_LOG_FORMAT = (
    '{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" '
    "{rcode} {>rflags} {rsize} {duration}"
)
COMBINED_LOG_FORMAT = COMMON_LOG_FORMAT + ' "{>opcode}"'


class Recorded(Protocol):
    """What was written for a query (``kdns.writer.Recorder`` has these)."""

    rcode: int
    len: int
    msg: dns.message.Message | None
    start: float


#: a value function: (request, recording or None, duration in seconds) -> text
Value = Callable[[Request, Recorded | None, float], str]

_FLAGS = (
    (dns.flags.QR, "qr"),
    (dns.flags.AA, "aa"),
    (dns.flags.TC, "tc"),
    (dns.flags.RD, "rd"),
    (dns.flags.RA, "ra"),
    (0x0040, "z"),
    (dns.flags.AD, "ad"),
    (dns.flags.CD, "cd"),
)


def _bracket(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def format_duration(seconds: float) -> str:
    """Seconds with nanosecond precision and no trailing zeros, then ``s``: ``0.037990251s``."""
    ns = round(seconds * 1e9)
    sign = "-" if ns < 0 else ""
    whole, frac = divmod(abs(ns), 1_000_000_000)
    text = f"{whole}.{frac:09d}".rstrip("0").rstrip(".")
    return f"{sign}{text}s"


def rcode_text(rcode: int) -> str:
    """The rcode's name, or its number when it has none."""
    try:
        return dns.rcode.to_text(dns.rcode.Rcode.make(rcode))
    except ValueError:
        return str(rcode)


def flags_text(flags: int) -> str:
    """Set header flags, comma separated: ``qr,aa,rd``."""
    return ",".join(name for bit, name in _FLAGS if flags & bit)


def _size(req: Request, rec: Recorded | None, d: float) -> str:
    return str(req.wire_len or len(req.msg.to_wire()))


def _rcode(req: Request, rec: Recorded | None, d: float) -> str:
    return EMPTY if rec is None else rcode_text(rec.rcode)


def _rsize(req: Request, rec: Recorded | None, d: float) -> str:
    return EMPTY if rec is None else str(rec.len)


def _duration(req: Request, rec: Recorded | None, d: float) -> str:
    return EMPTY if rec is None else format_duration(d)


def _rflags(req: Request, rec: Recorded | None, d: float) -> str:
    if rec is None or rec.msg is None:
        return EMPTY
    return flags_text(rec.msg.flags)


_LABELS: dict[str, Value] = {
    "{type}": lambda req, rec, d: req.type_text,
    "{name}": lambda req, rec, d: req.qname,
    "{class}": lambda req, rec, d: req.class_text,
    "{proto}": lambda req, rec, d: req.proto,
    "{size}": _size,
    "{remote}": lambda req, rec, d: _bracket(req.remote[0]),
    "{port}": lambda req, rec, d: str(req.remote[1]),
    "{local}": lambda req, rec, d: _bracket(req.local[0]),
    "{>id}": lambda req, rec, d: str(req.msg.id),
    "{>opcode}": lambda req, rec, d: str(req.msg.opcode()),
    "{>do}": lambda req, rec, d: "true" if req.do else "false",
    "{>bufsize}": lambda req, rec, d: str(req.size),
    "{rcode}": _rcode,
    "{rsize}": _rsize,
    "{duration}": _duration,
    "{>rflags}": _rflags,
}


def _metadata(label: str) -> Value:
    def value(req: Request, rec: Recorded | None, d: float) -> str:
        fn = req.meta.get(label)
        return EMPTY if fn is None else fn()

    return value


def parse(fmt: str) -> list[str | Value]:
    """``fmt`` as literals and value functions, adjacent literals merged.

    A ``}`` is paired with the nearest ``{`` before it, so ``"{ {type} }"`` keeps its outer braces.
    """
    parts: list[str | Value] = []

    def literal(text: str) -> None:
        if not text:
            return
        if parts and isinstance(parts[-1], str):
            parts[-1] += text
        else:
            parts.append(text)

    s = fmt
    while True:
        j = s.find("}")
        if j < 0:
            break
        i = s.rfind("{", 0, j)
        label = s[i : j + 1] if i >= 0 else ""
        fn = _LABELS.get(label)
        if fn is None and label.startswith("{/"):
            fn = _metadata(label[2:-1])
        if fn is None:
            literal(s[: j + 1])
        else:
            literal(s[:i])
            parts.append(fn)
        s = s[j + 1 :]
    literal(s)
    return parts


class Replacer:
    """One format string, parsed once; ``replace`` fills it in for a query."""

    __slots__ = ("_parts", "format")

    def __init__(self, fmt: str) -> None:
        self.format = fmt
        self._parts = parse(fmt)

    def replace(self, req: Request, rec: Recorded | None = None, duration: float | None = None) -> str:
        """The line for ``req`` and what was written for it (``rec``); ``duration`` defaults to now - start."""
        if duration is None:
            duration = time.monotonic() - rec.start if rec is not None else 0.0
        return "".join(p if isinstance(p, str) else p(req, rec, duration) for p in self._parts)
