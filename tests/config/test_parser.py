"""Corefile parser: keys, nested blocks, environment, snippets and import, located errors."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kdns.config.lexer import quote
from kdns.config.parser import MAX_DEPTH, MAX_IMPORTS, Directive, parse, parse_file
from kdns.errors import ConfigError


def tree(ds: list[Directive] | None) -> list[Any]:
    """Directives as nested tuples: (name, *args) or (name, *args, [block])."""
    out: list[Any] = []
    for d in ds or []:
        out.append((d.name, *d.args, tree(d.block)) if d.block is not None else (d.name, *d.args))
    return out


def shape(text: str) -> list[tuple[list[str], list[Any]]]:
    return [(b.keys, tree(b.directives)) for b in parse(text, "Corefile").blocks]


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root / "Corefile"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        pytest.param(". {\n whoami\n}", [(["."], [("whoami",)])], id="one-block"),
        pytest.param(
            "example.org example.net:1053 dns://a.org {\n whoami\n}",
            [(["example.org", "example.net:1053", "dns://a.org"], [("whoami",)])],
            id="several-keys",
        ),
        pytest.param(
            "example.org,\n  example.net,\n\n  a.org {\n whoami\n}",
            [(["example.org", "example.net", "a.org"], [("whoami",)])],
            id="trailing-comma-continues",
        ),
        pytest.param("a.org, b.org {\n}", [(["a.org", "b.org"], [])], id="comma-space"),
        pytest.param("a.org\n{\n whoami\n}", [(["a.org"], [("whoami",)])], id="brace-on-next-line"),
        pytest.param("example.org\nwhoami\nlog", [(["example.org"], [("whoami",), ("log",)])], id="no-braces"),
        pytest.param("a.org b.org\nwhoami", [(["a.org", "b.org"], [("whoami",)])], id="no-braces-two-keys"),
        pytest.param("example.org", [(["example.org"], [])], id="key-only"),
        pytest.param(". { whoami }", [(["."], [("whoami",)])], id="one-line-block"),
        pytest.param(
            ". {\n a 1 2\n b {\n  c 3 {\n   d {\n    e 4\n   }\n  }\n }\n}",
            [(["."], [("a", "1", "2"), ("b", [("c", "3", [("d", [("e", "4")])])])])],
            id="nested-any-depth",
        ),
        pytest.param(
            ". {\n hosts\n {\n  fallthrough\n }\n}",
            [(["."], [("hosts", [("fallthrough",)])])],
            id="directive-brace-on-next-line",
        ),
        pytest.param(
            '. {\n log "a b" "{" "}" "import" x # c\n # whole line\n}',
            [(["."], [("log", "a b", "{", "}", "import", "x")])],
            id="quoted-braces-and-comments",
        ),
        pytest.param(
            '. {\n template "line1\nline2" next\n after\n}',
            [(["."], [("template", "line1\nline2", "next"), ("after",)])],
            id="multi-line-quote-continues-its-line",
        ),
        pytest.param(
            ". {\n rewrite name import x\n}", [(["."], [("rewrite", "name", "import", "x")])], id="import-not-first"
        ),
        pytest.param(
            "a.org {\n whoami\n}\nb.org {\n log\n}",
            [(["a.org"], [("whoami",)]), (["b.org"], [("log",)])],
            id="two-blocks",
        ),
        pytest.param('"" a.org {\n}', [(["a.org"], [])], id="empty-key-skipped"),
    ],
)
def test_grammar(text: str, want: list[tuple[list[str], list[Any]]]) -> None:
    """Blocks, keys and nested directive lines come out as written."""
    assert shape(text) == want


def test_locations() -> None:
    """Blocks and directives keep the file and line they were written at."""
    cf = parse("# c\n\nexample.org {\n  whoami\n  hosts {\n    fallthrough\n  }\n}\n", "/x/Corefile")
    (sb,) = cf.blocks
    assert (sb.file, sb.line) == ("/x/Corefile", 3)
    assert [(d.name, d.line) for d in sb.directives] == [("whoami", 4), ("hosts", 5)]
    assert sb.directives[1].block is not None
    assert sb.directives[1].block[0].where == "/x/Corefile:6"
    assert cf.files == ["/x/Corefile"]


@pytest.mark.parametrize(
    ("text", "line", "msg"),
    [
        pytest.param(". {\n whoami\n", 1, "unclosed '{'", id="unclosed-block"),
        pytest.param(". {\n hosts {\n  x\n}\n", 1, "unclosed '{'", id="unclosed-nested"),
        pytest.param(". {\n whoami\n}\n}\n", 4, "unexpected '}'", id="extra-close"),
        pytest.param("}\n", 1, "unexpected '}'", id="close-first"),
        pytest.param("{\n}\n", 1, "unexpected '{'", id="open-first"),
        pytest.param(". {\n {\n }\n}\n", 2, "unexpected '{'", id="open-without-directive"),
        pytest.param("example.org\nwhoami\n}\n", 3, "unexpected '}'", id="close-in-braceless"),
        pytest.param("a.org,\n{\n}\n", 2, "expected another server block key", id="comma-then-brace"),
        pytest.param("a.org,", 1, "expected another server block key", id="comma-then-eof"),
        pytest.param('. {\n x "y\n}\n', 2, "unterminated quoted string", id="unterminated-quote"),
        pytest.param("(s)\nwhoami\n", 1, r"snippet \(s\) needs a '{ }' block", id="snippet-without-braces"),
        pytest.param("(s) {\n}\n(s) {\n}\n", 3, r"snippet \(s\) is already defined", id="snippet-twice"),
        pytest.param(". {\n import\n}\n", 2, "import: missing file or snippet name", id="import-no-arg"),
        pytest.param(". {\n import a b\n}\n", 2, "import takes only one argument", id="import-two-args"),
        pytest.param(". {\n import nothere.conf\n}\n", 2, "import: file not found: nothere.conf", id="missing-file"),
        pytest.param("import nothere.conf\n", 1, "import: file not found: nothere.conf", id="missing-file-top"),
        pytest.param('. {\n import ""\n}\n', 2, "import: empty file name", id="import-empty"),
        pytest.param(". {\n import a*/*.conf\n}\n", 2, "import: a glob may hold only one", id="glob-two-stars"),
        pytest.param(". {\n import [ab].conf\n}\n", 2, "import: a glob may hold only one", id="glob-class"),
    ],
)
def test_errors_are_one_located_line(text: str, line: int, msg: str, tmp_path: Path) -> None:
    """Syntax errors raise ConfigError as one line 'FILE:LINE: message'."""
    path = str(tmp_path / "Corefile")
    with pytest.raises(ConfigError, match=rf"^{path}:{line}: {msg}") as ei:
        parse(text, path)
    assert "\n" not in str(ei.value)


def test_env_in_keys_names_and_args(monkeypatch: pytest.MonkeyPatch) -> None:
    """{$VAR} and {%VAR%} are replaced in keys, directive names and arguments (empty when unset)."""
    monkeypatch.setenv("KDNS_ZONE", "example.org")
    monkeypatch.setenv("KDNS_PORT", "1053")
    monkeypatch.setenv("KDNS_PLUGIN", "whoami")
    monkeypatch.setenv("KDNS_ARG", "a b")
    monkeypatch.delenv("KDNS_UNSET", raising=False)
    text = "{$KDNS_ZONE}:{%KDNS_PORT%} {\n {$KDNS_PLUGIN} x{$KDNS_ARG}y [{$KDNS_UNSET}]\n"
    text += " opt {\n  k {%KDNS_ARG%}\n }\n}"
    assert shape(text) == [(["example.org:1053"], [("whoami", "xa by", "[]"), ("opt", [("k", "a b")])])]


def test_env_value_is_never_syntax(monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable whose value is '{' or 'import' stays a plain argument."""
    monkeypatch.setenv("KDNS_BRACE", "{")
    monkeypatch.setenv("KDNS_IMPORT", "import")
    assert shape(". {\n log {$KDNS_BRACE}\n {$KDNS_IMPORT} x\n}") == [(["."], [("log", "{"), ("import", "x")])]


def test_snippets_everywhere() -> None:
    """A snippet is pasted at top level, in a block and in a nested directive body; nested snippets work."""
    text = (
        "(inner) {\n fallthrough\n}\n"
        "(outer) {\n whoami\n hosts {\n  import inner\n }\n}\n"
        "(block) {\n b.org {\n  import outer\n }\n}\n"
        "a.org {\n import outer\n log {\n  import inner\n }\n}\n"
        "import block\n"
        ". { import inner }\n"
    )
    assert shape(text) == [
        (["a.org"], [("whoami",), ("hosts", [("fallthrough",)]), ("log", [("fallthrough",)])]),
        (["b.org"], [("whoami",), ("hosts", [("fallthrough",)])]),
        (["."], [("fallthrough",)]),
    ]


def test_snippet_lines_point_at_the_snippet() -> None:
    """Directives pasted from a snippet keep the snippet's line numbers (errors point there)."""
    cf = parse("(s) {\n whoami\n}\n. {\n import s\n}\n", "C")
    assert [d.where for d in cf.blocks[0].directives] == ["C:2"]


def test_snippet_must_be_defined_before_use(tmp_path: Path) -> None:
    """An import naming a snippet defined later is taken as a file name: not found is an error."""
    with pytest.raises(ConfigError, match=r":2: import: file not found: s$"):
        parse(". {\n import s\n}\n(s) {\n whoami\n}\n", str(tmp_path / "Corefile"))


def test_import_files_relative_to_corefile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """import paths are relative to the Corefile's folder (not the cwd), also in nested bodies and files."""
    corefile = write(
        tmp_path / "conf",
        {
            "Corefile": ". {\n import plugins.conf\n hosts {\n  import sub/opts.conf\n }\n}\nimport servers/*.server\n",
            "plugins.conf": "whoami\nlog\n",
            "sub/opts.conf": "fallthrough\nimport more.conf\n",
            "sub/more.conf": "ttl 30\n",
            "servers/a.server": "a.org {\n whoami\n}\n",
            "servers/b.server": "(snip) {\n log\n}\nb.org {\n import snip\n}\n",
            "servers/c.other": "c.org {\n}\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    cf = parse_file(str(corefile))
    assert [(b.keys, tree(b.directives)) for b in cf.blocks] == [
        (["."], [("whoami",), ("log",), ("hosts", [("fallthrough",), ("ttl", "30")])]),
        (["a.org"], [("whoami",)]),
        (["b.org"], [("log",)]),
    ]
    root = str(tmp_path / "conf")
    assert cf.files == [
        str(corefile),
        os.path.join(root, "plugins.conf"),
        os.path.join(root, "sub/opts.conf"),
        os.path.join(root, "sub/more.conf"),
        os.path.join(root, "servers/a.server"),
        os.path.join(root, "servers/b.server"),
    ]
    # imported lines are located in their own file
    assert cf.blocks[1].directives[0].where == os.path.join(root, "servers/a.server") + ":2"


def test_absolute_import(tmp_path: Path) -> None:
    """An absolute import path is used as is."""
    inc = tmp_path / "inc.conf"
    inc.write_text("whoami\n")
    assert shape(f". {{\n import {inc}\n}}") == [(["."], [("whoami",)])]


def test_import_path_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The import argument has {$VAR} replaced before it is resolved."""
    corefile = write(tmp_path, {"Corefile": ". {\n import {$KDNS_INC}\n}\n", "x.conf": "whoami\n"})
    monkeypatch.setenv("KDNS_INC", "x.conf")
    assert tree(parse_file(str(corefile)).blocks[0].directives) == [("whoami",)]


def test_empty_glob_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A glob matching nothing warns (with file:line) and parses on; the block is still there."""
    corefile = write(tmp_path, {"Corefile": ". {\n whoami\n import custom/*.override\n}\nimport custom/*.server\n"})
    with caplog.at_level(logging.WARNING, logger="kdns"):
        cf = parse_file(str(corefile))
    assert tree(cf.blocks[0].directives) == [("whoami",)]
    assert cf.warnings == [
        f"{corefile}:3: import: no files match custom/*.override",
        f"{corefile}:5: import: no files match custom/*.server",
    ]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == cf.warnings


def test_error_inside_imported_file_names_that_file(tmp_path: Path) -> None:
    """A syntax error in an imported file is reported at that file's line."""
    corefile = write(tmp_path, {"Corefile": ". {\n import bad.conf\n}\n", "bad.conf": "whoami\nlog {\n"})
    with pytest.raises(ConfigError, match=rf"^{tmp_path / 'bad.conf'}:2: unclosed"):
        parse_file(str(corefile))


def test_import_directory_is_an_error(tmp_path: Path) -> None:
    """Importing a folder is an error at the import line."""
    corefile = write(tmp_path, {"Corefile": ". {\n import d\n}\n", "d/x": ""})
    with pytest.raises(ConfigError, match=r":2: import: .*d is a directory$"):
        parse_file(str(corefile))


def test_import_loop_is_stopped(tmp_path: Path) -> None:
    """A file importing itself (or a snippet importing itself) is an error, not a hang."""
    corefile = write(tmp_path, {"Corefile": ". {\n import a.conf\n}\n", "a.conf": "whoami\nimport a.conf\n"})
    with pytest.raises(ConfigError, match=rf"a.conf:2: imports nested more than {MAX_DEPTH} deep"):
        parse_file(str(corefile))
    with pytest.raises(ConfigError, match=r"^C:2: imports nested more than"):
        parse("(s) {\n import s\n}\n. {\n import s\n}\n", "C")
    (tmp_path / "top").mkdir()
    (tmp_path / "top" / "Corefile").write_text("a.org {\n whoami\n}\nimport Corefile\n")
    with pytest.raises(ConfigError, match=r"Corefile:4: imports nested more than"):
        parse_file(str(tmp_path / "top" / "Corefile"))


def test_import_count_limit() -> None:
    """More than MAX_IMPORTS imports (here snippets doubling 14 times) is an error."""
    lines = ["(s0) {\n whoami\n}"]
    lines += [f"(s{i}) {{\n import s{i - 1}\n import s{i - 1}\n}}" for i in range(1, 15)]
    assert MAX_IMPORTS < 2**14
    text = "\n".join(lines) + "\n. {\n import s14\n}\n"
    with pytest.raises(ConfigError, match=rf"more than {MAX_IMPORTS} imports"):
        parse(text, "C")
    # twelve doublings (4096 imports) are fine
    ok = "\n".join(lines[:13]) + "\n. {\n import s12\n}\n"
    assert len(parse(ok, "C").blocks[0].directives) == 2**12


def test_unreadable_corefile(tmp_path: Path) -> None:
    """A missing or binary Corefile is one located ConfigError."""
    with pytest.raises(ConfigError, match=r"nope: cannot read Corefile: No such file"):
        parse_file(str(tmp_path / "nope"))
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match=r"bin: cannot read Corefile: not UTF-8 text"):
        parse_file(str(binary))


def test_pastes_never_join_lines(tmp_path: Path) -> None:
    """The same one-line file or snippet pasted twice in a row gives two lines, not one with arguments."""
    corefile = write(
        tmp_path,
        {"Corefile": "(s) {\n log\n}\n. {\n import one.conf\n import one.conf\n import s\n import s\n ready\n}\n"},
    )
    (tmp_path / "one.conf").write_text("whoami")
    cf = parse_file(str(corefile))
    assert tree(cf.blocks[0].directives) == [("whoami",), ("whoami",), ("log",), ("log",), ("ready",)]
    assert cf.files == [str(corefile), str(tmp_path / "one.conf")]


_word = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\\$%"), min_size=0, max_size=8
)
_name = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True).filter(lambda s: s != "import")
_zone = st.from_regex(r"([a-z0-9]{1,5}\.){0,2}[a-z]{1,5}(:[0-9]{1,4})?", fullmatch=True)


def _lines_strategy(depth: int) -> st.SearchStrategy[list[Any]]:
    leaf = st.tuples(_name, st.lists(_word, max_size=3))
    if depth == 0:
        return st.lists(leaf.map(lambda t: (t[0], *t[1])), max_size=3)
    node = st.tuples(_name, st.lists(_word, max_size=3), st.none() | _lines_strategy(depth - 1))
    return st.lists(node.map(lambda t: (t[0], *t[1]) if t[2] is None else (t[0], *t[1], t[2])), max_size=3)


def _render(lines: list[Any], indent: str) -> str:
    out = ""
    for line in lines:
        block = line[-1] if line and isinstance(line[-1], list) else None
        words = line[:-1] if block is not None else line
        out += indent + " ".join(quote(w) for w in words)
        if block is not None:
            out += " {\n" + _render(block, indent + "  ") + indent + "}"
        out += "\n"
    return out


@settings(deadline=None)
@given(st.lists(st.tuples(st.lists(_zone, min_size=1, max_size=3), _lines_strategy(2)), max_size=3))
def test_render_parse_round_trip(blocks: list[tuple[list[str], list[Any]]]) -> None:
    """Any blocks of keys and nested lines, written out with quoting, parse back to the same structure."""
    text = "".join(" ".join(keys) + " {\n" + _render(lines, "  ") + "}\n" for keys, lines in blocks)
    assert shape(text) == [(keys, lines) for keys, lines in blocks]


@settings(deadline=None)
@given(
    st.lists(
        st.sampled_from(["a.org", "{", "}", "import", "s", "(s)", "\n", " ", ",", "whoami", '"x y"', "#c", '"', "."]),
        max_size=40,
    )
)
def test_parser_raises_only_config_errors(parts: list[str]) -> None:
    """Corefile-shaped noise parses or raises a one-line ConfigError; nothing else escapes."""
    try:
        parse(" ".join(parts), "/nonexistent/C")
    except ConfigError as e:
        assert "\n" not in str(e)  # noqa: PT017 - the property is about every error raised


def test_glob_in_a_folder_with_brackets(tmp_path: Path) -> None:
    """Only the import argument is a pattern: brackets in the Corefile's folder name are literal."""
    corefile = write(tmp_path / "we[ir]d", {"Corefile": ". {\n import conf/*.conf\n}\n", "conf/a.conf": "whoami\n"})
    assert tree(parse_file(str(corefile)).blocks[0].directives) == [("whoami",)]
