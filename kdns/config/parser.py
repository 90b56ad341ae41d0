"""Tokens -> server blocks of directives, with snippets and ``import`` spliced in.

Grammar (Caddy's, as CoreDNS reads it)::

    corefile  = { import | snippet | block }
    snippet   = "(" NAME ")" "{" tokens "}"
    block     = keys ( "{" lines "}" | lines-to-end-of-file )
    keys      = KEY { KEY } on one line; a key ending in "," continues the list on the next line
    line      = NAME { ARG } [ "{" lines "}" ]

``import NAME_OR_PATTERN`` at the start of a line (top level, in a block, or in a nested block)
pastes a snippet or the tokens of files; ``{$VAR}`` / ``{%VAR%}`` are replaced in keys, names
and arguments.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from dataclasses import dataclass, field

from kdns.config.lexer import Token, expand_env, tokenize
from kdns.errors import ConfigError
from kdns.log import logger

#: at most this many imports (snippets and files) in one Corefile
MAX_IMPORTS = 10000
#: imports inside imports nest at most this deep (an import loop stops here)
MAX_DEPTH = 100
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


def _err(msg: str, t: Token) -> ConfigError:
    return ConfigError(msg, file=t.file, line=t.line)


def _is_brace(t: Token) -> bool:
    return not t.quoted and t.text in ("{", "}")


def _starts_line(toks: list[Token], i: int) -> bool:
    """True when ``toks[i]`` is the first token of a line (or follows a brace)."""
    if i == 0:
        return True
    prev, t = toks[i - 1], toks[i]
    return t.newline or prev.file != t.file or prev.end_line < t.line or _is_brace(prev)


def _same_line(prev: Token, t: Token) -> bool:
    return not t.newline and prev.file == t.file and prev.end_line == t.line


def _on_new_line(toks: list[Token]) -> list[Token]:
    """``toks`` with the first one marked as starting a line (a paste never continues a line)."""
    if toks and not toks[0].newline:
        return [dataclasses.replace(toks[0], newline=True), *toks[1:]]
    return toks


class _Parser:
    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir
        self.snippets: dict[str, list[Token]] = {}
        self.files: list[str] = []
        self.warnings: list[str] = []
        self.imports = 0
        self._cache: dict[str, list[Token]] = {}

    # -- import --------------------------------------------------------------------------

    def _import_arg(self, toks: list[Token], i: int) -> Token:
        """The argument of the ``import`` at ``toks[i]``, checked: one token on the same line."""
        t = toks[i]
        if i + 1 >= len(toks) or not _same_line(t, toks[i + 1]) or _is_brace(toks[i + 1]):
            raise _err("import: missing file or snippet name", t)
        if i + 2 < len(toks) and _same_line(toks[i + 1], toks[i + 2]) and not _is_brace(toks[i + 2]):
            raise _err("import takes only one argument (a snippet name, a file or a glob)", t)
        self.imports += 1
        if self.imports > MAX_IMPORTS:
            raise _err(f"more than {MAX_IMPORTS} imports (recursive import?)", t)
        arg = toks[i + 1]
        return Token(expand_env(arg.text), arg.file, arg.line, arg.extra_lines, arg.quoted)

    def _resolve(self, arg: Token, depth: int) -> list[Token]:
        """The tokens ``import ARG`` pastes: a snippet's, or those of every file ARG names."""
        if depth > MAX_DEPTH:
            raise _err(f"imports nested more than {MAX_DEPTH} deep (import loop?)", arg)
        if arg.text in self.snippets:
            return self.snippets[arg.text]
        if not arg.text:
            raise _err("import: empty file name", arg)
        text = arg.text
        magic = glob.has_magic(text)
        if magic and (text.count("*") > 1 or text.count("?") > 1 or ("[" in text and "]" in text)):
            raise _err(f"import: a glob may hold only one wildcard (*): {text}", arg)
        pattern = text
        if not os.path.isabs(pattern):
            base = os.path.dirname(arg.file) if arg.file and not arg.file.startswith("<") else self.base_dir
            pattern = os.path.join(glob.escape(base) if magic else base, pattern)
        if magic:
            paths = sorted(glob.glob(pattern))
            if not paths:
                msg = f"{arg.file}:{arg.line}: import: no files match {arg.text}"
                self.warnings.append(msg)
                log.warning(msg)
        elif not os.path.exists(pattern):
            raise _err(f"import: file not found: {arg.text}", arg)
        else:
            paths = [pattern]
        toks: list[Token] = []
        for p in paths:
            toks.extend(self._read(p, arg))
        return toks

    def _read(self, path: str, at: Token) -> list[Token]:
        if path not in self._cache:
            if os.path.isdir(path):
                raise _err(f"import: {path} is a directory", at)
            self._cache[path] = tokenize(read_text(path, at), path)
            self.files.append(path)
        return self._cache[path]

    def _expand(self, toks: list[Token], depth: int) -> list[Token]:
        """``toks`` with every ``import`` at the start of a line replaced by what it pastes."""
        out: list[Token] = []
        i = 0
        pasted = False
        while i < len(toks):
            t = toks[i]
            if t.is_syntax("import") and _starts_line(toks, i):
                arg = self._import_arg(toks, i)
                out.extend(_on_new_line(self._expand(self._resolve(arg, depth + 1), depth + 1)))
                i += 2
                pasted = True
                continue
            out.append(dataclasses.replace(t, newline=True) if pasted and not t.newline else t)
            pasted = False
            i += 1
        return out

    # -- blocks ------------------------------------------------------------------------

    def top(self, toks: list[Token], depth: int = 0) -> list[ServerBlock]:
        """Server blocks of a top-level token list (the Corefile, or a file imported at top level)."""
        blocks: list[ServerBlock] = []
        i = 0
        while i < len(toks):
            t = toks[i]
            if t.is_syntax("import"):
                arg = self._import_arg(toks, i)
                blocks.extend(self.top(self._resolve(arg, depth + 1), depth + 1))
                i += 2
                continue
            if _is_brace(t):
                raise _err(f"unexpected '{t.text}': expected a server block key", t)
            keys, i = _keys(toks, i)
            braces = i < len(toks) and toks[i].is_syntax("{")
            if braces:
                body, i = _balanced(toks, i)
            else:
                body, i = toks[i:], len(toks)
            if len(keys) == 1 and keys[0].startswith("(") and keys[0].endswith(")"):
                name = keys[0][1:-1]
                if not braces:
                    raise _err(f"snippet ({name}) needs a '{{ }}' block", t)
                if name in self.snippets:
                    raise _err(f"snippet ({name}) is already defined", t)
                self.snippets[name] = body
                continue
            blocks.append(ServerBlock(keys, t.file, t.line, _lines(self._expand(body, depth))))
        return blocks


def _keys(toks: list[Token], i: int) -> tuple[list[str], int]:
    """Keys starting at ``toks[i]``: the rest of its line, and following lines after a trailing comma."""
    keys: list[str] = []
    first = toks[i]
    more = False  # the last key ended with ',': another one must follow
    while i < len(toks):
        t = toks[i]
        if t.is_syntax("{"):
            break
        if keys and not more and not _same_line(toks[i - 1], t):
            break
        if t.is_syntax("}"):
            raise _err("unexpected '}'", t)
        text = expand_env(t.text)
        more = text.endswith(",")
        keys.extend(k for k in text.split(",") if k)
        i += 1
    if more:
        at = toks[i] if i < len(toks) else toks[-1]
        raise _err(f"expected another server block key after ',' (found {_what(toks, i)})", at)
    if not keys:
        raise _err("expected a server block key", first)
    return keys, i


def _what(toks: list[Token], i: int) -> str:
    return f"'{toks[i].text}'" if i < len(toks) else "end of file"


def _balanced(toks: list[Token], i: int) -> tuple[list[Token], int]:
    """Tokens between the ``{`` at ``i`` and its matching ``}``; returns them and the index after."""
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j]
        if t.quoted:
            continue
        if t.text == "{":
            depth += 1
        elif t.text == "}":
            depth -= 1
            if depth == 0:
                return toks[i + 1 : j], j + 1
    raise _err("unclosed '{': missing '}'", toks[i])


def _lines(toks: list[Token]) -> list[Directive]:
    """Group tokens into directive lines; a ``{`` after a line opens its nested block.

    Names and arguments get ``{$VAR}``/``{%VAR%}`` replaced here.
    """
    out: list[Directive] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if _is_brace(t):
            if t.text == "}":
                raise _err("unexpected '}': no '{' to close", t)
            raise _err("unexpected '{': a block must follow a directive", t)
        d = Directive(expand_env(t.text), [], t.file, t.line)
        prev = t
        i += 1
        while i < len(toks) and _same_line(prev, toks[i]) and not _is_brace(toks[i]):
            prev = toks[i]
            d.args.append(expand_env(prev.text))
            i += 1
        if i < len(toks) and toks[i].is_syntax("{"):
            body, i = _balanced(toks, i)
            d.block = _lines(body)
        out.append(d)
    return out


def read_text(path: str, at: Token | None = None) -> str:
    """A Corefile or an imported file as text; ConfigError when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        if at is None:
            raise ConfigError(f"cannot read Corefile: {why}", file=path) from e
        raise _err(f"import: cannot read {path}: {why}", at) from e


def parse(text: str, file: str = "Corefile") -> Corefile:
    """Parse Corefile ``text`` read from ``file`` (imports are relative to its folder)."""
    real = file and not file.startswith("<")
    p = _Parser(os.path.dirname(os.path.abspath(file)) if real else os.getcwd())
    p.files.append(file)
    blocks = p.top(tokenize(text, file))
    return Corefile(blocks, p.files, p.warnings)


def parse_file(path: str) -> Corefile:
    return parse(read_text(path), path)
