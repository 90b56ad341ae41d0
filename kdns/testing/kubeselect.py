"""Kubernetes label and field selectors, parsed and matched the way the API server does (for ``KubeAPI``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kdns.plugins.kubernetes import selector

Match = Callable[[dict[str, Any]], bool]

_TERM = re.compile(
    r"^\s*(?:(?P<not>!)\s*(?P<nkey>[^\s!=,()]+)"
    r"|(?P<key>[^\s!=,()]+)\s*(?:(?P<op>==|=|!=)\s*(?P<val>[^\s!=,()]*)"
    r"|\s(?P<setop>in|notin)\s*\((?P<set>[^()]*)\))?)\s*$"
)
_FIELD = re.compile(r"^\s*(?P<key>[A-Za-z0-9_.]+)\s*(?P<op>==|=|!=)\s*(?P<val>[^,]*?)\s*$")


class SelectorError(ValueError):
    """A selector the API server would answer 400 BadRequest for."""


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses (the plugin's parser), dropping empty requirements."""
    return [t for t in selector.split(text)[0] if t.strip()]


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = (obj.get("metadata") or {}).get("labels") or {}
    return labels


def _label_term(term: str) -> Match:
    m = _TERM.match(term)
    if m is None:
        raise SelectorError(f"unable to parse requirement: {term.strip()!r}")
    if m["not"]:
        nkey = m["nkey"]
        return lambda o: nkey not in _labels(o)
    key = m["key"]
    if m["op"]:
        val, op = m["val"], m["op"]
        if op == "!=":
            return lambda o: _labels(o).get(key) != val
        return lambda o: _labels(o).get(key) == val
    if m["setop"]:
        values = {v.strip() for v in m["set"].split(",") if v.strip()}
        if m["setop"] == "in":
            return lambda o: _labels(o).get(key) in values
        return lambda o: _labels(o).get(key) not in values
    return lambda o: key in _labels(o)


def label_selector(text: str) -> Match:
    """A matcher for ``labelSelector``: ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, ``k in (a,b)``, ``k notin (a)``."""
    terms = [_label_term(t) for t in _split(text)]
    return lambda o: all(t(o) for t in terms)


def _field(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def _field_term(term: str) -> Match:
    m = _FIELD.match(term)
    if m is None:
        raise SelectorError(f"invalid selector: {term.strip()!r}")
    key, val = m["key"], m["val"]
    if m["op"] == "!=":
        return lambda o: _field(o, key) != val
    return lambda o: _field(o, key) == val


def field_selector(text: str) -> Match:
    """A matcher for ``fieldSelector``: ``path=v``, ``path==v``, ``path!=v`` over dotted JSON paths
    (``metadata.name``, ``metadata.namespace``, ``status.phase``, ``spec.nodeName``); missing fields are ''."""
    terms = [_field_term(t) for t in text.split(",") if t.strip()]
    return lambda o: all(t(o) for t in terms)
