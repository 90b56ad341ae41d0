"""The registry and the in-tree plugin folders agree with DIRECTIVES, and every plugin has a man-page README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kdns.config import registry
from kdns.config.directives import DIRECTIVES

PLUGINS = Path(__file__).resolve().parent.parent / "kdns" / "plugins"
#: found at collection time, so plugins added later are checked too
FOLDERS = sorted(p.name for p in PLUGINS.iterdir() if p.is_dir() and (p / "__init__.py").exists())
SECTIONS = ("## Name", "## Description", "## Syntax", "## Examples")


def _in_tree() -> dict[str, registry.Spec]:
    registry.load()
    return {name: s for name, s in registry.known().items() if s.module.startswith(registry.IN_TREE)}


def test_directives_have_no_duplicates() -> None:
    """Each name appears once in the chain order."""
    assert len(set(DIRECTIVES)) == len(DIRECTIVES)


def test_every_in_tree_plugin_is_in_directives() -> None:
    """Every directive an in-tree plugin registers has its place in DIRECTIVES, and none is external."""
    specs = _in_tree()
    assert specs, "no in-tree plugin registered"
    assert sorted(n for n in specs if n not in DIRECTIVES) == []
    assert not any(s.external or s.before or s.after for s in specs.values())


@pytest.mark.parametrize("folder", FOLDERS)
def test_folder_registers_a_directive(folder: str) -> None:
    """Each plugin folder is imported by kdns/plugins/__init__.py and registers at least one directive."""
    modules = {s.module for s in _in_tree().values()}
    assert any(m.startswith(f"{registry.IN_TREE}{folder}.") for m in modules), (
        f"kdns/plugins/{folder} registers no directive (missing from kdns/plugins/__init__.py?)"
    )


@pytest.mark.parametrize("folder", FOLDERS)
def test_readme_has_man_page_sections(folder: str) -> None:
    """Each plugin folder has a README.md with a title and Name, Description, Syntax, Examples in that order."""
    readme = PLUGINS / folder / "README.md"
    assert readme.is_file(), f"kdns/plugins/{folder}/README.md is missing"
    lines = readme.read_text().splitlines()
    assert lines, "README.md is empty"
    assert re.match(r"^# \S", lines[0]), "the first line must be the '# name' title"
    at = [lines.index(s) if s in lines else -1 for s in SECTIONS]
    missing = [s for s, i in zip(SECTIONS, at, strict=True) if i < 0]
    assert not missing, f"missing sections: {missing}"
    assert at == sorted(at), f"sections out of order: {SECTIONS}"
