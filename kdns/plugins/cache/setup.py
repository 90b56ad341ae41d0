"""``cache [TTL] [ZONES...] { success|denial CAP [TTL [MINTTL]]; prefetch ...; serve_stale ...; ... }``."""

from __future__ import annotations

import dataclasses

from kdns.config.controller import Controller
from kdns.config.parser import Directive
from kdns.config.registry import directive
from kdns.pkg.duration import parse_duration
from kdns.plugins.cache.plugin import NAME, Cache
from kdns.plugins.cache.store import DENIAL, SUCCESS, Options, Store

#: RFC 2308 section 7.1: SERVFAIL must not be cached longer than five minutes
MAX_SERVFAIL = 300.0
#: the longest serve_stale failure recheck (RFC 8767 suggests 30 seconds)
MAX_RECHECK = 300.0


def _int(c: Controller, d: Directive, text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise c.err(f"invalid number {text!r}", at=d) from None


def _duration(c: Controller, d: Directive, text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise c.err(str(e), at=d) from None


def _ttl(c: Controller, d: Directive, text: str) -> int:
    ttl = _int(c, d, text)
    if ttl <= 0:
        raise c.err(f"cache TTL can not be zero or negative: {ttl}", at=d)
    return ttl


def _cap_ttl_min(c: Controller, o: Directive) -> tuple[int, int | None, int | None]:
    """``success|denial CAP [TTL [MINTTL]]``."""
    if not 1 <= len(o.args) <= 3:
        raise c.arg_err(o)
    cap = _int(c, o, o.args[0])
    ttl = _ttl(c, o, o.args[1]) if len(o.args) > 1 else None
    minttl = None
    if len(o.args) > 2:
        minttl = _int(c, o, o.args[2])
        if minttl < 0:
            raise c.err(f"cache min TTL can not be negative: {minttl}", at=o)
    return cap, ttl, minttl


def parse(c: Controller) -> Options:
    """The options of the (single) cache line; ConfigError located at the offending line."""
    d = c.once()
    args = list(d.args)
    o = Options()
    if args:
        try:
            ttl = int(args[0], 10)
        except ValueError:
            pass  # not a number: the first zone
        else:
            if ttl <= 0:
                raise c.err(f"cache TTL can not be zero or negative: {ttl}", at=d)
            o = dataclasses.replace(o, success_ttl=ttl, denial_ttl=ttl)
            args = args[1:]
    o = dataclasses.replace(o, zones=tuple(c.zones(args, at=d)))
    policy = None
    for line in d.block or []:
        if line.block is not None:
            raise c.arg_err(line)
        o = _option(c, line, o)
        if line.name == "serve_stale_policy":
            policy = line
    if policy is not None and o.stale <= 0:
        raise c.err("serve_stale_policy needs serve_stale", at=policy)
    return o


def _option(c: Controller, line: Directive, o: Options) -> Options:
    name, args = line.name, line.args
    if name in (SUCCESS, DENIAL):
        cap, ttl, minttl = _cap_ttl_min(c, line)
        p = "success" if name == SUCCESS else "denial"
        changes: dict[str, int] = {f"{p}_cap": cap}
        if ttl is not None:
            changes[f"{p}_ttl"] = ttl
        if minttl is not None:
            changes[f"{p}_minttl"] = minttl
        return dataclasses.replace(o, **changes)  # type: ignore[arg-type]
    if name == "prefetch":
        if not 1 <= len(args) <= 3:
            raise c.arg_err(line)
        amount = _int(c, line, args[0])
        if amount < 0:
            raise c.err(f"prefetch amount should be positive: {amount}", at=line)
        window = _duration(c, line, args[1]) if len(args) > 1 else o.prefetch_window
        pct = o.prefetch_pct
        if len(args) > 2:
            if not args[2].endswith("%"):
                raise c.err(f"last character of percentage should be `%`, but is: {args[2][-1:]!r}", at=line)
            pct = _int(c, line, args[2][:-1])
            if not 10 <= pct <= 90:
                raise c.err(f"percentage should fall in range [10, 90]: {pct}", at=line)
        return dataclasses.replace(o, prefetch=amount, prefetch_window=window, prefetch_pct=pct)
    if name == "serve_stale":
        return _serve_stale(c, line, o)
    if name == "serve_stale_policy":
        if len(args) != 1:
            raise c.arg_err(line)
        if args[0] != "prefer_positive":
            raise c.err(f"invalid serve_stale_policy: {args[0]}", at=line)
        return dataclasses.replace(o, prefer_positive=True)
    if name == "servfail":
        if len(args) != 1:
            raise c.arg_err(line)
        dur = _duration(c, line, args[0])
        if dur < 0:
            raise c.err("invalid negative ttl for servfail", at=line)
        if dur > MAX_SERVFAIL:
            raise c.err("caching SERVFAIL responses over 5 minutes is not permitted", at=line)
        return dataclasses.replace(o, servfail=dur)
    if name == "disable":
        if not args:
            raise c.arg_err(line)
        if args[0] not in (SUCCESS, DENIAL):
            raise c.err(f'cache type for disable must be "{SUCCESS}" or "{DENIAL}"', at=line)
        zones = tuple(c.zones(args[1:], at=line)) if len(args) > 1 else (".",)
        if args[0] == SUCCESS:
            return dataclasses.replace(o, disable_success=zones)
        return dataclasses.replace(o, disable_denial=zones)
    if name == "keepttl":
        if args:
            raise c.arg_err(line)
        return dataclasses.replace(o, keepttl=True)
    raise c.err(f"unknown property '{name}'", at=line)


def _serve_stale(c: Controller, line: Directive, o: Options) -> Options:
    """``serve_stale [DURATION [immediate [STALE_TTL [RECHECK]] | verify [TIMEOUT [STALE_TTL [RECHECK]]]]]``."""
    args = line.args
    stale = 3600.0
    if args:
        stale = _duration(c, line, args[0])
        if stale < 0:
            raise c.err("invalid negative duration for serve_stale", at=line)
    verify = False
    if len(args) > 1:
        mode = args[1].lower()
        if mode not in ("immediate", "verify"):
            raise c.err(f"invalid value for serve_stale refresh mode: {mode}", at=line)
        verify = mode == "verify"
    extra = args[2:]
    names = (["verify timeout"] if verify else []) + ["stale TTL", "failure recheck"]
    if len(extra) > len(names):
        raise c.arg_err(line)
    values = dict(zip(names, (_duration(c, line, a) for a in extra), strict=False))
    for what, value in values.items():
        if value < 0:
            raise c.err(f"invalid negative {what} for serve_stale", at=line)
    recheck = values.get("failure recheck", 0.0)
    if recheck > MAX_RECHECK:
        raise c.err("serve_stale failure recheck over 5 minutes is not permitted", at=line)
    return dataclasses.replace(
        o,
        stale=stale,
        verify=verify,
        verify_timeout=values.get("verify timeout", 0.0),
        stale_ttl=int(values.get("stale TTL", 0)),
        recheck=recheck,
    )


@directive(NAME)
def setup(c: Controller) -> None:
    opts = parse(c)
    cache = Cache(opts=opts, store=Store(opts))

    def factory(nxt: object) -> Cache:
        cache.next = nxt  # type: ignore[assignment]
        return cache

    c.add_plugin(factory)
    c.on_shutdown(cache.stop)
