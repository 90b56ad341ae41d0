"""Kubernetes label selectors: split into requirements, and checked the way the API server parses them.

Shared by the plugin's ``labels``/``namespace_labels`` options and the test API server (``kdns.testing``).
"""

from __future__ import annotations

import re

_KEY = r"(?:[A-Za-z0-9][-A-Za-z0-9_./]*)?[A-Za-z0-9]"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_REQ = re.compile(
    rf"^\s*(?:!\s*{_KEY}|{_KEY}\s*(?:(?:==?|!=)\s*{_VALUE}|\s(?:in|notin)\s*\(\s*{_VALUE}(?:\s*,\s*{_VALUE})*\s*\))?)\s*$"
)


def split(text: str) -> tuple[list[str], int]:
    """The requirements of ``text`` (split on commas outside parentheses, empty ones kept) and the
    parenthesis depth left at its end (0 when balanced)."""
    parts: list[str] = []
    depth = 0
    cur = ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts, depth


def valid_selector(text: str) -> bool:
    """True for a Kubernetes label selector (``a=b,c!=d,e in (f,g),!h``)."""
    parts, depth = split(text)
    return depth == 0 and all(_REQ.match(p) for p in parts)
