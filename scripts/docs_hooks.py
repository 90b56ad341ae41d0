"""mkdocs hooks for the kdns site (mkdocs.yml `hooks:`); run it directly to only generate the plugin pages.

- on_pre_build: writes DOCS/plugins/NAME.md from kdns/plugins/NAME/README.md, and DOCS/plugins/index.md
  (a table of all plugins). Files are rewritten only when their content changes, so `mkdocs serve`
  does not loop, and pages of plugins that no longer exist are removed.
- on_page_markdown: links that leave the docs folder (they work when the Markdown is read in the
  repository) are rewritten for the site: a plugin README becomes its plugin page, any other file of
  the repository becomes its path in code font. A link to a file that does not exist is a warning,
  which `mkdocs build --strict` turns into a failure.

This file runs inside mkdocs's own venv (.tools/mkdocs) and imports nothing from kdns.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PLUGINS_SRC = REPO / "kdns" / "plugins"

log = logging.getLogger("mkdocs.hooks.kdns")

#: [text](target) where target has no spaces; the text may span lines. Images too (![alt](src)).
LINK = re.compile(r"(\[[^\]]*\]\()([^)\s]+)(\))")
FENCE = re.compile(r"^\s*(```|~~~)")
NESTED = re.compile(r"^( {2,7})([*+-] |\d+\. )", re.M)
URL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def plugin_names() -> list[str]:
    """Every plugin folder that has a README, sorted."""
    return sorted(p.parent.name for p in PLUGINS_SRC.glob("*/README.md") if not p.parent.name.startswith("_"))


def summary(readme: str) -> str:
    """The README's `## Name` line after ` - ` (`*any* - answers ANY` -> `answers ANY`)."""
    m = re.search(r"^## Name\s*\n+(.+?)(?:\n\s*\n|\Z)", readme, re.M | re.S)
    if m is None:
        return ""
    line = " ".join(m.group(1).split())
    return line.split(" - ", 1)[1] if " - " in line else line


def outside_fences(text: str, fn: Callable[[str], str]) -> str:
    """Apply fn to the parts of Markdown text that are not inside fenced code blocks."""
    out: list[str] = []
    chunk: list[str] = []
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        m = FENCE.match(line)
        if fence is None and m:
            out.append(fn("".join(chunk)))
            chunk = []
            fence = m.group(1)
            out.append(line)
        elif fence is not None:
            out.append(line)
            if m and m.group(1) == fence:
                fence = None
        else:
            chunk.append(line)
    out.append(fn("".join(chunk)))
    return "".join(out)


def rewrite_links(text: str, src: Path, out: Path, docs: Path) -> str:
    """Make the relative links of `text` (written next to `src`) right for a page at `out` under `docs`.

    Links inside `docs` are left to mkdocs's own checks; plugin READMEs become plugin pages; other
    files of the repository become their path in code font."""
    docs = docs.resolve()
    src_in_docs = src.resolve().is_relative_to(docs)

    def one(m: re.Match[str]) -> str:
        target = m.group(2)
        if URL.match(target) or target.startswith(("#", "/")):
            return m.group(0)  # URL, anchor of this page, or absolute: not ours
        path, sep, anchor = target.partition("#")
        dest = (src.parent / path).resolve()
        if dest.is_relative_to(docs):
            if src_in_docs:
                return m.group(0)
            return f"{m.group(1)}{os.path.relpath(dest, out.parent)}{sep}{anchor}{m.group(3)}"
        if dest.name == "README.md" and dest.parent.parent == PLUGINS_SRC:
            page = docs / "plugins" / f"{dest.parent.name}.md"
            return f"{m.group(1)}{os.path.relpath(page, out.parent)}{sep}{anchor}{m.group(3)}"
        if not dest.exists() or not dest.is_relative_to(REPO):
            log.warning("%s: link to '%s': no such file in the repository", src.name, target)
            return m.group(0)
        label, where = m.group(1)[1:-2], str(dest.relative_to(REPO))
        if not label:
            return f"`{where}`"
        return label if where in label else f"{label} (`{where}`)"

    return outside_fences(text, lambda chunk: LINK.sub(one, chunk))


def nest_lists(text: str) -> str:
    """Indent nested list items by 4 spaces a level, as Python-Markdown needs (READMEs use 2 or 3)."""
    return NESTED.sub(lambda m: " " * (4 * ((len(m.group(1)) + 2) // 4)) + m.group(2), text)


def plugin_page(name: str, docs: Path) -> str:
    src = PLUGINS_SRC / name / "README.md"
    text = rewrite_links(src.read_text(encoding="utf-8"), src, docs / "plugins" / f"{name}.md", docs)
    text = outside_fences(text, nest_lists)
    return text.rstrip("\n") + f"\n\n---\n\n*Generated from `kdns/plugins/{name}/README.md`.*\n"


def index_page(names: list[str]) -> str:
    readmes = {n: (PLUGINS_SRC / n / "README.md").read_text(encoding="utf-8") for n in names}
    rows = [f"| [{n}]({n}.md) | {summary(readmes[n])} |" for n in names]
    return (
        "# Plugins\n\n"
        "One page per plugin, generated from the plugin's README (`kdns/plugins/NAME/README.md`) when the "
        "site is built. The pages follow CoreDNS's plugin pages: Name, Description, Syntax, Metrics, "
        "Examples, See Also; where kdns differs from CoreDNS, the page says so. Plugins always run in "
        "the fixed chain order that `kdns -plugins` prints, whatever their order in a server block "
        "(see [the Corefile](../corefile.md)).\n\n"
        "| plugin | what it does |\n| --- | --- |\n" + "\n".join(rows) + "\n"
    )


def generate(docs: Path) -> list[str]:
    """Write docs/plugins/*.md; return the plugin names."""
    names = plugin_names()
    pages = {f"{n}.md": plugin_page(n, docs) for n in names}
    pages["index.md"] = index_page(names)
    out = docs / "plugins"
    out.mkdir(exist_ok=True)
    for old in out.glob("*.md"):
        if old.name not in pages:
            old.unlink()
    for fname, text in pages.items():
        path = out / fname
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return names


def on_pre_build(config: Any) -> None:
    generate(Path(config["docs_dir"]))


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    docs = Path(config["docs_dir"])
    src = Path(page.file.abs_src_path)
    if src.resolve().is_relative_to((docs / "plugins").resolve()):
        return markdown  # generated: its links are already rewritten
    return rewrite_links(markdown, src, src, docs)


if __name__ == "__main__":
    print("\n".join(generate(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs")))
