"""Every ```corefile example in the plugin READMEs parses and sets up, as CoreDNS's readme_test does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kdns.config.parser import parse
from kdns.core.instance import Instance

PLUGINS = Path(__file__).resolve().parent.parent / "kdns" / "plugins"
#: a fenced block whose info string is "corefile" (``` or ~~~ fences)
FENCE = re.compile(r"^(```|~~~)\s*corefile\s*\n(.*?)^\1\s*$", re.MULTILINE | re.DOTALL)


def _blocks() -> list[tuple[str, int, str]]:
    """(folder, n, text) for every corefile block, found at collection time."""
    out = []
    for readme in sorted(PLUGINS.glob("*/README.md")):
        for n, m in enumerate(FENCE.finditer(readme.read_text()), 1):
            out.append((readme.parent.name, n, m.group(2)))
    return out


BLOCKS = _blocks()
READMES = sorted(p.parent.name for p in PLUGINS.glob("*/README.md"))


@pytest.mark.parametrize(("folder", "n", "text"), BLOCKS, ids=[f"{f}-{n}" for f, n, _ in BLOCKS])
def test_corefile_example_sets_up(folder: str, n: int, text: str) -> None:
    """The example parses, and every plugin in it sets up without errors (no sockets bound)."""
    inst = Instance(parse(text, f"{folder}/README.md#{n}"), check_only=True)
    inst.setup()
    assert inst.errors == []
    assert inst.blocks, "the example has no server block"
    assert all(cfg.chain is not None or not cfg.factories for cfg in inst.blocks)


@pytest.mark.parametrize("folder", READMES)
def test_readme_shows_a_corefile(folder: str) -> None:
    """Each plugin README has at least one ```corefile example (so the test above covers it)."""
    assert any(f == folder for f, _, _ in BLOCKS), f"kdns/plugins/{folder}/README.md has no ```corefile block"
