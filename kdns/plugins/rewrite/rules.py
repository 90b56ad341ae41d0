"""Rewrite rules: how each rule form changes a request and which response rules it leaves behind.

Request rules are built once at setup (``new_rule``) and applied per query in line order. A rule that
matches returns the (possibly new) request and the response rules to run on the reply; response
rules run in reverse order (see ``reverter.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from kdns.errors import PluginError
from kdns.request import Request

NAME = "rewrite"
STOP = "stop"
CONTINUE = "continue"
EXACT, PREFIX, SUFFIX, SUBSTRING, REGEX = "exact", "prefix", "suffix", "substring", "regex"
MATCH_TYPES = (EXACT, PREFIX, SUFFIX, SUBSTRING, REGEX)
_GROUP = re.compile(r"\{(\d+)\}")
#: largest TTL a range may reach when its upper end is left out (2^31 - 1, RFC 2181)
MAX_TTL = 2147483647


class RuleError(ValueError):
    """A rewrite rule that cannot be built; setup turns it into a located ConfigError."""


def normalize(name: str) -> str:
    """Lower-case and fully qualified, as CoreDNS's ``plugin.Name.Normalize``."""
    name = name.lower()
    return name if name.endswith(".") else name + "."


# -- string rewriters (response side) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Template:
    """A replacement with ``{N}`` references to regex groups, split once into parts."""

    text: str
    parts: tuple[str | int, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        parts: list[str | int] = []
        pos = 0
        for m in _GROUP.finditer(self.text):
            if m.start() > pos:
                parts.append(self.text[pos : m.start()])
            parts.append(int(m.group(1)))
            pos = m.end()
        if pos < len(self.text):
            parts.append(self.text[pos:])
        object.__setattr__(self, "parts", tuple(parts))

    @property
    def max_group(self) -> int:
        return max((p for p in self.parts if isinstance(p, int)), default=0)

    def expand(self, m: re.Match[str]) -> str:
        return "".join(p if isinstance(p, str) else (m.group(p) or "") for p in self.parts)


def compile_regex(pattern: str, to: str) -> tuple[re.Pattern[str], Template]:
    """The pattern and the template of a regex rewrite; the template may not use absent groups."""
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise RuleError(f"invalid regex matching pattern: {pattern}: {e}") from None
    tpl = Template(to)
    if tpl.max_group > rx.groups:
        raise RuleError(
            f"the rewrite regex pattern ({to}) uses more subexpressions than its corresponding "
            f"matching regex pattern ({pattern})"
        )
    return rx, tpl


@dataclass(frozen=True, slots=True)
class RegexRewriter:
    """Replace a string matching ``pattern`` by ``template``; others stay as they are."""

    pattern: re.Pattern[str]
    template: Template

    def rewrite(self, s: str) -> str:
        m = self.pattern.search(s)
        return s if m is None else self.template.expand(m)


@dataclass(frozen=True, slots=True)
class RemapRewriter:
    """Map ``orig`` (and names below it) back to ``replacement``: the inverse of one name rewrite."""

    orig: str
    replacement: str

    def rewrite(self, s: str) -> str:
        low = s.lower()
        if low == self.orig:
            return self.replacement
        if low.endswith("." + self.orig):
            return s[: len(s) - len(self.orig)] + self.replacement
        return s


@dataclass(frozen=True, slots=True)
class SuffixRewriter:
    """Replace the suffix ``suffix`` by ``replacement``."""

    suffix: str
    replacement: str

    def rewrite(self, s: str) -> str:
        if s.lower().endswith(self.suffix):
            return s[: len(s) - len(self.suffix)] + self.replacement
        return s


StringRewriter = RegexRewriter | RemapRewriter | SuffixRewriter


# -- response rules --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameResponse:
    """Rewrite the owner names of the reply's records."""

    rewriter: StringRewriter


@dataclass(frozen=True, slots=True)
class ValueResponse:
    """Rewrite the names records point to (CNAME, DNAME, NS, MX, SRV, NAPTR, SOA)."""

    rewriter: StringRewriter


@dataclass(frozen=True, slots=True)
class TTLResponse:
    """Clamp every record's TTL into [lo, hi]."""

    lo: int
    hi: int

    def clamp(self, ttl: int) -> int:
        return self.lo if ttl < self.lo else self.hi if ttl > self.hi else ttl


@dataclass(frozen=True, slots=True)
class RcodeResponse:
    """Change the reply's rcode ``old`` into ``new``."""

    old: int
    new: int


@dataclass(frozen=True, slots=True)
class CnameResponse:
    """Point matching CNAME targets elsewhere and resolve the new target (see the reverter)."""

    match: Match


ResponseRule = NameResponse | ValueResponse | TTLResponse | RcodeResponse | CnameResponse


# -- matching a name -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """A name match of one of the five types, with its replacement (unused for ttl/rcode rules)."""

    kind: str
    frm: str
    to: str = ""
    pattern: re.Pattern[str] | None = None
    template: Template | None = None

    @classmethod
    def make(cls, kind: str, frm: str, to: str = "") -> Match:
        kind = kind.lower()
        if kind not in MATCH_TYPES:
            raise RuleError(f"match type must be one of exact, prefix, suffix, substring or regex, got {kind!r}")
        if kind == REGEX:
            rx, tpl = compile_regex(frm, normalize(to) if to else "")
            return cls(kind, frm, tpl.text, rx, tpl)
        return cls(kind, normalize(frm), normalize(to) if to else "")

    def test(self, name: str) -> bool:
        kind = self.kind
        if kind == EXACT:
            return name == self.frm
        if kind == PREFIX:
            return name.startswith(self.frm)
        if kind == SUFFIX:
            return name.endswith(self.frm)
        if kind == SUBSTRING:
            return self.frm in name
        assert self.pattern is not None
        return self.pattern.search(name) is not None

    def replace(self, name: str) -> str | None:
        """The rewritten ``name``, or None when it does not match."""
        kind = self.kind
        if kind == EXACT:
            return self.to if name == self.frm else None
        if kind == PREFIX:
            return self.to + name[len(self.frm) :] if name.startswith(self.frm) else None
        if kind == SUFFIX:
            return name[: len(name) - len(self.frm)] + self.to if name.endswith(self.frm) else None
        if kind == SUBSTRING:
            return name.replace(self.frm, self.to) if self.frm in name else None
        assert self.pattern is not None
        assert self.template is not None
        m = self.pattern.search(name)
        return None if m is None else self.template.expand(m)


# -- request rules ---------------------------------------------------------------------

Applied = tuple[Request, tuple[ResponseRule, ...]] | None
NO_RESPONSE: tuple[ResponseRule, ...] = ()


def _renamed(req: Request, name: str) -> Request:
    try:
        return req.with_question(name, req.qtype)
    except (dns.exception.DNSException, ValueError):
        raise PluginError(NAME, f"invalid name after rewrite: {name}") from None


@dataclass(frozen=True, slots=True)
class NameRule:
    """``name [TYPE] FROM TO [answer auto | answer name FROM TO | answer value FROM TO]...``."""

    mode: str
    match: Match
    #: map the rewritten name back to the asked one in the reply (built per query)
    auto: bool = False
    answers: tuple[ResponseRule, ...] = ()

    def apply(self, req: Request) -> Applied:
        old = req.qname
        new = self.match.replace(old)
        if new is None:
            return None
        out = _renamed(req, new)
        if not self.auto:
            return out, self.answers
        back = RemapRewriter(out.qname, old)
        return out, (NameResponse(back), ValueResponse(back), *self.answers)


@dataclass(frozen=True, slots=True)
class TypeRule:
    """``type FROM TO``: ask for another type."""

    mode: str
    frm: int
    to: int

    def apply(self, req: Request) -> Applied:
        if req.qtype != self.frm:
            return None
        return req.with_question(req.msg.question[0].name, self.to), NO_RESPONSE


@dataclass(frozen=True, slots=True)
class ClassRule:
    """``class FROM TO``: ask in another class."""

    mode: str
    frm: int
    to: int

    def apply(self, req: Request) -> Applied:
        if req.qclass != self.frm:
            return None
        out = req.with_question(req.msg.question[0].name, req.qtype)
        cls = dns.rdataclass.RdataClass.make(self.to)
        out.msg.question = [dns.rrset.RRset(out.msg.question[0].name, cls, out.qtype)]  # our own copy
        out.qclass = cls
        return out, NO_RESPONSE


@dataclass(frozen=True, slots=True)
class TTLRule:
    """``ttl [TYPE] NAME SECONDS|MIN-MAX``: clamp the reply's TTLs for matching names."""

    mode: str
    match: Match
    response: TTLResponse

    def apply(self, req: Request) -> Applied:
        return (req, (self.response,)) if self.match.test(req.qname) else None


@dataclass(frozen=True, slots=True)
class RcodeRule:
    """``rcode [TYPE] NAME FROM TO``: change the reply's rcode for matching names."""

    mode: str
    match: Match
    response: RcodeResponse

    def apply(self, req: Request) -> Applied:
        return (req, (self.response,)) if self.match.test(req.qname) else None


@dataclass(frozen=True, slots=True)
class CnameRule:
    """``cname [TYPE] FROM TO``: rewrite CNAME targets in the reply (always applies, as CoreDNS)."""

    mode: str
    response: CnameResponse

    def apply(self, req: Request) -> Applied:
        return req, (self.response,)


Rule = NameRule | TypeRule | ClassRule | TTLRule | RcodeRule | CnameRule


# -- building rules from arguments -----------------------------------------------------


def new_rule(args: list[str]) -> Rule:
    """One rule from the tokens of a rewrite line (plus its block lines, joined)."""
    if not args:
        raise RuleError("no rule type specified for rewrite")
    mode = STOP
    first = args[0].lower()
    if first in (STOP, CONTINUE):
        mode = first
        args = args[1:]
        if not args:
            raise RuleError(f"{first} rule must begin with a rule type")
    field_, rest = args[0].lower(), args[1:]
    build = _BUILDERS.get(field_)
    if build is None:
        if field_ == "answer":
            raise RuleError("response rewrites must begin with a name rule")
        if field_ == "edns0":
            raise RuleError("edns0 rewrites are not supported yet")
        raise RuleError(f"invalid rule type {args[0]!r}")
    return build(mode, rest)


def _name_rule(mode: str, args: list[str]) -> Rule:
    if len(args) < 2:
        raise RuleError("too few arguments for a name rule")
    if len(args) == 2:
        kind, frm, to, opts = EXACT, args[0], args[1], []
    else:
        kind, frm, to, opts = args[0].lower(), args[1], args[2], args[3:]
        if kind not in MATCH_TYPES:
            raise RuleError(
                f"name rule supports only exact, prefix, suffix, substring, and regex name matching, received: {kind}"
            )
    match = Match.make(kind, frm, to)
    auto, answers = _answer_rules(opts) if opts else (False, ())
    if kind == EXACT:
        return NameRule(mode, match, auto=True, answers=answers)
    if kind == SUFFIX and auto:
        # the inverse of a suffix rewrite is a suffix rewrite: no per-query rule needed
        back = SuffixRewriter(match.to, match.frm)
        return NameRule(mode, match, auto=False, answers=(NameResponse(back), ValueResponse(back), *answers))
    return NameRule(mode, match, auto=auto, answers=answers)


def _answer_rules(args: list[str]) -> tuple[bool, tuple[ResponseRule, ...]]:
    """``answer auto``, ``answer name FROM TO``, ``answer value FROM TO``; later ``answer`` words optional."""
    if args[0].lower() != "answer":
        raise RuleError(f"unexpected argument {args[0]!r} after a name rule; expected 'answer'")
    auto = False
    names = 0
    out: list[ResponseRule] = []
    i = 0
    while i < len(args):
        if args[i].lower() == "answer":
            i += 1
        if i >= len(args):
            raise RuleError("type missing for answer rule")
        what = args[i].lower()
        i += 1
        if what == "auto":
            auto = True
            continue
        if what not in ("name", "value"):
            raise RuleError(f"invalid type {what!r} for answer rule; expected auto, name or value")
        if len(args) - i < 2:
            raise RuleError(f"{what} answer rule: 2 arguments required")
        rx, tpl = compile_regex(args[i], normalize(args[i + 1]))
        rewriter = RegexRewriter(rx, tpl)
        if what == "name":
            out.append(NameResponse(rewriter))
            names += 1
        else:
            out.append(ValueResponse(rewriter))
        i += 2
    if auto and names:
        raise RuleError("auto name answer rule cannot be combined with explicit name answer rules")
    return auto, tuple(out)


def _typed(args: list[str], plain: int, what: str) -> tuple[Match, list[str]]:
    """Split ``[TYPE] NAME VALUES...`` where ``plain`` is the argument count without TYPE."""
    if len(args) == plain:
        return Match.make(EXACT, args[0]), args[1:]
    if len(args) == plain + 1:
        kind = args[0].lower()
        if kind not in MATCH_TYPES:
            raise RuleError(f"{what} rule supports only exact, prefix, suffix, substring, and regex name matching")
        return Match.make(kind, args[1]), args[2:]
    raise RuleError(f"wrong number of arguments ({len(args)}) for a {what} rule")


def parse_ttl(text: str) -> tuple[int, int]:
    """``N``, ``MIN-MAX``, ``MIN-`` or ``-MAX`` -> (lo, hi)."""

    def num(s: str) -> int:
        if not s.isdigit() or int(s) > MAX_TTL:
            raise RuleError(f"invalid TTL {text!r} for a ttl rule")
        return int(s)

    if "-" not in text:
        n = num(text)
        return n, n
    lo_s, _, hi_s = text.partition("-")
    if not lo_s and not hi_s:
        raise RuleError(f"invalid TTL {text!r} for a ttl rule")
    lo = num(lo_s) if lo_s else 0
    hi = num(hi_s) if hi_s else MAX_TTL
    if lo > hi:
        raise RuleError(f"invalid TTL range {text!r} for a ttl rule: minimum above maximum")
    return lo, hi


def _ttl_rule(mode: str, args: list[str]) -> Rule:
    match, (ttl,) = _typed(args, 2, "ttl")
    lo, hi = parse_ttl(ttl)
    return TTLRule(mode, match, TTLResponse(lo, hi))


def parse_rcode(text: str, what: str) -> int:
    if text.isdigit():
        if int(text) > 23:
            raise RuleError(f"invalid {what} RCODE {text!r} for a rcode rule")
        return int(text)
    try:
        return int(dns.rcode.from_text(text.upper()))
    except dns.rcode.UnknownRcode:
        raise RuleError(f"invalid {what} RCODE {text!r} for a rcode rule") from None


def _rcode_rule(mode: str, args: list[str]) -> Rule:
    match, (old, new) = _typed(args, 3, "rcode")
    return RcodeRule(mode, match, RcodeResponse(parse_rcode(old, "matching"), parse_rcode(new, "replacement")))


def _cname_rule(mode: str, args: list[str]) -> Rule:
    if len(args) == 2:
        return CnameRule(mode, CnameResponse(Match.make(EXACT, args[0], args[1])))
    if len(args) == 3:
        kind = args[0].lower()
        if kind not in MATCH_TYPES:
            raise RuleError(f"unknown cname rewrite type: {kind}")
        return CnameRule(mode, CnameResponse(Match.make(kind, args[1], args[2])))
    raise RuleError(f"wrong number of arguments ({len(args)}) for a cname rule")


def _type_rule(mode: str, args: list[str]) -> Rule:
    if len(args) != 2:
        raise RuleError("type rules must have exactly two arguments")
    frm, to = (_rdtype(a) for a in args)
    return TypeRule(mode, frm, to)


def _rdtype(text: str) -> int:
    try:
        return int(dns.rdatatype.from_text(text.upper()))
    except dns.rdatatype.UnknownRdatatype:
        raise RuleError(f"invalid type {text.upper()!r}") from None


def _class_rule(mode: str, args: list[str]) -> Rule:
    if len(args) != 2:
        raise RuleError("class rules must have exactly two arguments")
    try:
        frm, to = (int(dns.rdataclass.from_text(a.upper())) for a in args)
    except dns.rdataclass.UnknownRdataclass:
        raise RuleError(f"invalid class in {' '.join(args)!r}") from None
    return ClassRule(mode, frm, to)


_BUILDERS: dict[str, Callable[[str, list[str]], Rule]] = {
    "name": _name_rule,
    "type": _type_rule,
    "class": _class_rule,
    "ttl": _ttl_rule,
    "rcode": _rcode_rule,
    "cname": _cname_rule,
}
