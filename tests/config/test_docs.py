"""docs/corefile.md: every ```corefile example parses and sets up under -check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kdns.config.parser import parse
from kdns.core.instance import Instance
from kdns.errors import ConfigError

DOC = Path(__file__).resolve().parents[2] / "docs" / "corefile.md"
EXAMPLES = re.findall(r"```corefile\n(.*?)```", DOC.read_text(), re.S)


def test_doc_has_examples() -> None:
    """The page shows Corefile examples (the check below is not vacuous)."""
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("n", range(len(EXAMPLES)))
def test_doc_example_checks(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each example sets up without error (environment set for the {$VAR} example)."""
    monkeypatch.setenv("ZONE", "example.org")
    monkeypatch.setenv("PORT", "1053")
    monkeypatch.setenv("HOSTS_FILE", "/etc/hosts")
    inst = Instance(parse(EXAMPLES[n], f"corefile.md#{n}"), check_only=True)
    try:
        inst.setup()
    except ConfigError:
        pass
    assert [str(e) for e in inst.errors] == []
