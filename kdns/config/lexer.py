"""Corefile tokens with file:line. Pure: text in, tokens out."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    file: str
    line: int
    #: lines the token spans beyond ``line`` (a quoted token may hold newlines)
    extra_lines: int = 0
    quoted: bool = False

    @property
    def end_line(self) -> int:
        return self.line + self.extra_lines


_ENV = re.compile(r"\{\$([^{}$%]+)\}|\{%([^{}$%]+)%\}")


def expand_env(text: str, env: dict[str, str] | None = None) -> str:
    """Replace ``{$NAME}`` and ``{%NAME%}`` with the environment value ('' when unset)."""
    if "{" not in text:
        return text
    source = os.environ if env is None else env
    return _ENV.sub(lambda m: source.get(m.group(1) or m.group(2), ""), text)


def tokenize(text: str, file: str = "Corefile") -> list[Token]:
    """Split Corefile text into tokens: whitespace separates, ``"`` quotes, ``#`` comments.

    Inside quotes only ``\\"`` is an escape. Environment references are expanded per token.
    """
    tokens: list[Token] = []
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch in " \t\r\f\v":
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif ch == '"':
            start_line = line
            i += 1
            buf: list[str] = []
            while i < n:
                c = text[i]
                if c == "\\" and i + 1 < n and text[i + 1] == '"':
                    buf.append('"')
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                if c == "\n":
                    line += 1
                buf.append(c)
                i += 1
            else:
                raise _unterminated(file, start_line)
            tokens.append(Token(expand_env("".join(buf)), file, start_line, line - start_line, True))
        else:
            j = i
            while j < n and text[j] not in ' \t\r\n\f\v"#':
                j += 1
            tokens.append(Token(expand_env(text[i:j]), file, line))
            i = j
    return tokens


def _unterminated(file: str, line: int) -> Exception:
    from kdns.errors import ConfigError

    return ConfigError("unterminated quoted string", file=file, line=line)
