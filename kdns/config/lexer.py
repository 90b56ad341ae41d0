"""Corefile tokens with file:line. Pure: text in, tokens out (environment references stay as written).

The rules follow Caddy's lexer, which CoreDNS uses:

- whitespace separates tokens; ``\\n`` counts lines;
- ``#`` starts a comment up to the end of the line, also right after a token (``abc#x`` is ``abc``);
- a ``"`` at the start of a token quotes it up to the next unescaped ``"`` (newlines included); inside
  quotes only ``\\"`` is an escape, any other backslash is kept as written; a ``"`` inside a token
  is an ordinary character;
- a quoted token is never syntax: ``"{"`` is an argument, not a brace, and ``"import"`` imports nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from kdns.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    file: str
    line: int
    #: lines the token spans beyond ``line`` (a quoted token may hold newlines)
    extra_lines: int = 0
    quoted: bool = False
    #: set by the parser on the first token pasted by an import (and the one after the paste): it
    #: starts a line even when the file and line number match the token before it
    newline: bool = False

    @property
    def end_line(self) -> int:
        return self.line + self.extra_lines

    def is_syntax(self, text: str) -> bool:
        """True when this token is the unquoted word ``text`` (a brace, ``import``)."""
        return not self.quoted and self.text == text


_ENV = re.compile(r"\{\$([^{}]+)\}|\{%([^{}%]+)%\}")


def expand_env(text: str, env: Mapping[str, str] | None = None) -> str:
    """Replace ``{$NAME}`` and ``{%NAME%}`` with the environment value ('' when unset)."""
    if "{" not in text:
        return text
    source: Mapping[str, str] = os.environ if env is None else env
    return _ENV.sub(lambda m: source.get(m.group(1) or m.group(2), ""), text)


def tokenize(text: str, file: str = "Corefile") -> list[Token]:
    """Split Corefile ``text`` into tokens; an unterminated quote is a ConfigError at its line."""
    tokens: list[Token] = []
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch.isspace():
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif ch == '"':
            start = line
            i += 1
            buf: list[str] = []
            while True:
                if i >= n:
                    raise ConfigError("unterminated quoted string", file=file, line=start)
                c = text[i]
                if c == "\\" and i + 1 < n:
                    # only \" is an escape: any other backslash pair is kept as written
                    nxt = text[i + 1]
                    buf.append(nxt if nxt == '"' else c + nxt)
                    line += nxt == "\n"
                    i += 2
                    continue
                i += 1
                if c == '"':
                    break
                line += c == "\n"
                buf.append(c)
            tokens.append(Token("".join(buf), file, start, line - start, True))
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] != "#":
                j += 1
            tokens.append(Token(text[i:j], file, line))
            i = j
    return tokens


def quote(text: str) -> str:
    """``text`` written so that ``tokenize`` gives it back as one token, quoted when it must be.

    ValueError for the few texts Caddy's quoting cannot express (a backslash right before a ``"``
    or at the end of a text that needs quotes).
    """
    if text and not any(c.isspace() or c in '"#' for c in text) and text not in ("{", "}", "import"):
        return text
    out = '"' + text.replace('"', '\\"') + '"'
    back = tokenize(out, "-")
    if len(back) != 1 or back[0].text != text:
        raise ValueError(f"cannot quote {text!r}")
    return out
