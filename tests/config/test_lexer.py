"""Corefile lexer: whitespace, quotes (only \\" escapes), comments, lines; property tests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kdns.config.lexer import Token, expand_env, quote, tokenize
from kdns.errors import ConfigError


def texts(src: str) -> list[str]:
    return [t.text for t in tokenize(src)]


@pytest.mark.parametrize(
    ("src", "want"),
    [
        pytest.param("a b\tc\r\nd", ["a", "b", "c", "d"], id="whitespace"),
        pytest.param('"a b" c', ["a b", "c"], id="quoted-space"),
        pytest.param('"a\\"b"', ['a"b'], id="escaped-quote"),
        pytest.param('"a\\nb"', ["a\\nb"], id="other-backslash-kept"),
        pytest.param('"a\\\\"', ["a\\\\"], id="backslash-pair-kept"),
        pytest.param('a"b"', ['a"b"'], id="quote-inside-token-is-literal"),
        pytest.param('"ab"cd', ["ab", "cd"], id="quote-ends-token"),
        pytest.param('""', [""], id="empty-quoted"),
        pytest.param("a # comment b\nc", ["a", "c"], id="comment"),
        pytest.param("abc#def ghi\nx", ["abc", "x"], id="comment-right-after-token"),
        pytest.param('"a # b"', ["a # b"], id="hash-in-quotes"),
        pytest.param("{a}{ }", ["{a}{", "}"], id="braces-only-when-alone"),
        pytest.param("a\u00a0b", ["a", "b"], id="unicode-space"),
        pytest.param("", [], id="empty"),
    ],
)
def test_tokens(src: str, want: list[str]) -> None:
    """Tokens split on whitespace; quotes group; '#' comments to end of line."""
    assert texts(src) == want


def test_lines_and_quoted_flag() -> None:
    """Each token has the line it starts on; a quoted token spanning lines records how many."""
    toks = tokenize('a\n\n"b\nc" d\n"{"', "F")
    assert [(t.text, t.line, t.end_line, t.quoted) for t in toks] == [
        ("a", 1, 1, False),
        ("b\nc", 3, 4, True),
        ("d", 4, 4, False),
        ("{", 5, 5, True),
    ]
    assert all(t.file == "F" for t in toks)
    assert toks[3].is_syntax("{") is False
    assert Token("{", "F", 1).is_syntax("{") is True


def test_environment_is_not_expanded_by_the_lexer() -> None:
    """The lexer keeps {$VAR} as written (the parser expands it after seeing braces)."""
    assert texts("{$HOME} {%HOME%}") == ["{$HOME}", "{%HOME%}"]


@pytest.mark.parametrize(
    ("src", "line"),
    [('a\n"never closed', 2), ('"x\\"', 1), ('a "b\n\nc', 1)],
)
def test_unterminated_quote_is_located_error(src: str, line: int) -> None:
    """An unterminated quote is a ConfigError at the line the quote opened."""
    with pytest.raises(ConfigError, match=rf"^F:{line}: unterminated quoted string$"):
        tokenize(src, "F")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("a-{$X}-b", "a-1-b"),
        ("{%X%}{$Y}", "1two"),
        ("{$MISSING}", ""),
        ("{$}", "{$}"),
        ("{$X", "{$X"),
        ("{{$X}}", "{1}"),
    ],
)
def test_expand_env(text: str, want: str) -> None:
    """{$NAME} and {%NAME%} become the variable's value, '' when unset; other braces stay."""
    assert expand_env(text, {"X": "1", "Y": "two"}) == want


@pytest.mark.parametrize("text", ["a b", "", "{", "}", "import", 'say "hi"', "#x", "tab\there", "a\\b"])
def test_quote_round_trip_examples(text: str) -> None:
    """quote() writes a text so that it lexes back to exactly that one token."""
    assert texts(quote(text)) == [text]


def test_quote_rejects_what_cannot_be_written() -> None:
    """A backslash right before a quote cannot be expressed inside Caddy quotes."""
    with pytest.raises(ValueError, match="cannot quote"):
        quote('a\\"b')


_quotable = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\\"),
    max_size=20,
)


@settings(deadline=None)
@given(st.lists(_quotable, max_size=8), st.sampled_from([" ", "\t", "\n", " \n\t "]))
def test_round_trip(words: list[str], sep: str) -> None:
    """Any list of texts, quoted as needed and joined by whitespace, lexes back to the same list."""
    src = sep.join(quote(w) for w in words)
    assert texts(src) == words


@settings(deadline=None)
@given(st.text(max_size=200))
def test_never_crashes(src: str) -> None:
    """Arbitrary text gives tokens or a ConfigError, nothing else; lines only grow."""
    try:
        toks = tokenize(src, "F")
    except ConfigError as e:
        err = str(e)
        toks = []
    else:
        err = "F:"
    assert err.startswith("F:")
    lines = [t.line for t in toks]
    assert lines == sorted(lines)
    assert all(t.line >= 1 and t.end_line <= src.count("\n") + 1 for t in toks)
    assert all(t.quoted or (t.text and not any(c.isspace() for c in t.text)) for t in toks)


@settings(deadline=None)
@given(st.lists(st.sampled_from(["a", "{", "}", '"q r"', "#c", "\n", " ", "import", '"', "\\", "{$X}"]), max_size=30))
def test_never_crashes_on_corefile_like_text(parts: list[str]) -> None:
    """Corefile-shaped noise lexes or raises ConfigError; no other exception escapes."""
    try:
        tokenize("".join(parts), "F")
    except ConfigError:
        pass
