"""Tokens -> server blocks of directives, with snippets and ``import`` spliced in."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

from kdns.config.lexer import Token, tokenize
from kdns.errors import ConfigError
from kdns.log import logger

MAX_IMPORTS = 10000
log = logger("config")


@dataclass(slots=True)
class Directive:
    """One Corefile line: a name, its arguments, and an optional nested block of lines."""

    name: str
    args: list[str]
    file: str
    line: int
    block: list[Directive] | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(slots=True)
class ServerBlock:
    keys: list[str]
    file: str
    line: int
    directives: list[Directive] = field(default_factory=list)


@dataclass(slots=True)
class Corefile:
    blocks: list[ServerBlock]
    #: every file read, the Corefile first (reload hashes them)
    files: list[str]
    warnings: list[str]


class _Parser:
    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir
        self.snippets: dict[str, list[Token]] = {}
        self.files: list[str] = []
        self.warnings: list[str] = []
        self.imports = 0

    # -- import splicing ------------------------------------------------------------

    def expand(self, toks: list[Token], depth: int = 0) -> list[Token]:
        """Replace every ``import ARG`` line (import as first token of a line) with its tokens."""
        out: list[Token] = []
        i = 0
        while i < len(toks):
            t = toks[i]
            starts_line = i == 0 or toks[i - 1].end_line != t.line or toks[i - 1].text in "{}"
            if t.text == "import" and not t.quoted and starts_line:
                if i + 1 >= len(toks) or toks[i + 1].line != t.line:
                    raise ConfigError("import: missing file or snippet name", file=t.file, line=t.line)
                arg = toks[i + 1]
                if i + 2 < len(toks) and toks[i + 2].line == t.line and toks[i + 2].text not in "{}":
                    raise ConfigError("import takes one argument", file=t.file, line=t.line)
                self.imports += 1
                if self.imports > MAX_IMPORTS or depth > 100:
                    raise ConfigError("too many imports (recursive import?)", file=t.file, line=t.line)
                out.extend(self.expand(self.resolve(arg), depth + 1))
                i += 2
                continue
            out.append(t)
            i += 1
        return out

    def resolve(self, arg: Token) -> list[Token]:
        if arg.text in self.snippets:
            return self.snippets[arg.text]
        pattern = arg.text
        if not os.path.isabs(pattern):
            pattern = os.path.join(os.path.dirname(arg.file) if arg.file else self.base_dir, pattern)
        if glob.has_magic(pattern):
            paths = sorted(glob.glob(pattern))
            if not paths:
                msg = f"{arg.file}:{arg.line}: import: no files match {arg.text!r}"
                self.warnings.append(msg)
                log.warning(msg)
                return []
        else:
            if not os.path.isfile(pattern):
                raise ConfigError(f"import: file {arg.text!r} not found", file=arg.file, line=arg.line)
            paths = [pattern]
        toks: list[Token] = []
        for p in paths:
            try:
                with open(p, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                raise ConfigError(f"import: {e.strerror}: {p}", file=arg.file, line=arg.line) from e
            self.files.append(p)
            toks.extend(tokenize(text, p))
        return toks

    # -- blocks -----------------------------------------------------------------------

    def parse(self, toks: list[Token]) -> list[ServerBlock]:
        blocks: list[ServerBlock] = []
        i = 0
        while i < len(toks):
            t = toks[i]
            if t.text == "import" and not t.quoted:
                # top-level import: splice and continue (snippets may be defined later in the file)
                if i + 1 >= len(toks):
                    raise ConfigError("import: missing file or snippet name", file=t.file, line=t.line)
                self.imports += 1
                if self.imports > MAX_IMPORTS:
                    raise ConfigError("too many imports (recursive import?)", file=t.file, line=t.line)
                toks = toks[:i] + self.resolve(toks[i + 1]) + toks[i + 2 :]
                continue
            if t.text in "{}" and not t.quoted:
                raise ConfigError(f"unexpected {t.text!r}: expected a server block key", file=t.file, line=t.line)
            keys, i = self._keys(toks, i)
            if i < len(toks) and toks[i].text == "{" and not toks[i].quoted:
                body, i = _balanced(toks, i)
            else:
                if len(keys) > 1:
                    raise ConfigError("several keys need a '{ }' block", file=t.file, line=t.line)
                body, i = toks[i:], len(toks)
            if len(keys) == 1 and keys[0].text.startswith("(") and keys[0].text.endswith(")"):
                self.snippets[keys[0].text[1:-1]] = body
                continue
            sb = ServerBlock([k.text.rstrip(",") for k in keys], t.file, t.line)
            sb.directives = _lines(self.expand(body))
            blocks.append(sb)
        return blocks

    def _keys(self, toks: list[Token], i: int) -> tuple[list[Token], int]:
        keys: list[Token] = []
        line = toks[i].line
        while i < len(toks):
            t = toks[i]
            if t.text == "{" and not t.quoted:
                break
            if t.line != line:
                if keys and keys[-1].text.endswith(","):
                    line = t.line
                else:
                    break
            for part in t.text.split(","):
                if part:
                    keys.append(Token(part, t.file, t.line))
            if t.text.endswith(",") and keys:
                last = keys[-1]
                keys[-1] = Token(last.text + ",", last.file, last.line)
            i += 1
        keys = [Token(k.text.rstrip(","), k.file, k.line) for k in keys if k.text.rstrip(",")]
        if not keys:
            t = toks[min(i, len(toks) - 1)]
            raise ConfigError("expected a server block key", file=t.file, line=t.line)
        return keys, i


def _balanced(toks: list[Token], i: int) -> tuple[list[Token], int]:
    """Tokens between the ``{`` at ``i`` and its matching ``}``; returns them and the index after."""
    depth = 0
    start = i
    for j in range(i, len(toks)):
        t = toks[j]
        if t.quoted:
            continue
        if t.text == "{":
            depth += 1
        elif t.text == "}":
            depth -= 1
            if depth == 0:
                return toks[start + 1 : j], j + 1
    t = toks[start]
    raise ConfigError("unclosed '{': missing '}'", file=t.file, line=t.line)


def _lines(toks: list[Token]) -> list[Directive]:
    """Group tokens into directive lines; ``{`` after a line opens its nested block."""
    out: list[Directive] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if not t.quoted and t.text in "{}":
            raise ConfigError(f"unexpected {t.text!r}", file=t.file, line=t.line)
        d = Directive(t.text, [], t.file, t.line)
        end = t.end_line
        i += 1
        while i < len(toks) and toks[i].line == end and not (not toks[i].quoted and toks[i].text in "{}"):
            d.args.append(toks[i].text)
            end = toks[i].end_line
            i += 1
        if i < len(toks) and toks[i].text == "{" and not toks[i].quoted:
            body, i = _balanced(toks, i)
            d.block = _lines(body)
        elif i < len(toks) and toks[i].text == "}" and not toks[i].quoted:
            raise ConfigError("unexpected '}'", file=toks[i].file, line=toks[i].line)
        out.append(d)
    return out


def parse(text: str, file: str = "Corefile") -> Corefile:
    """Parse Corefile ``text`` read from ``file`` (imports are relative to its folder)."""
    p = _Parser(os.path.dirname(os.path.abspath(file)) if file else os.getcwd())
    p.files.append(file)
    blocks = p.parse(tokenize(text, file))
    return Corefile(blocks, p.files, p.warnings)


def parse_file(path: str) -> Corefile:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read Corefile: {e.strerror}", file=path) from e
    return parse(text, path)
