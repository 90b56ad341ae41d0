#!/usr/bin/env bash
# Builds the documentation site with mkdocs --strict (broken links and missing pages fail).
# mkdocs is installed into its own venv, .tools/mkdocs (git-ignored), once; later runs reuse it.
# The plugin pages (docs/plugins/*.md) are generated from kdns/plugins/*/README.md during the build
# by scripts/docs_hooks.py; they are git-ignored (docs/plugins/.gitignore).
#   bash scripts/docs.sh             install if needed, build into site/
#   bash scripts/docs.sh install     install only; prints the mkdocs path
#   bash scripts/docs.sh build DIR   build into DIR
set -euo pipefail
cd "$(dirname "$0")/.."

MKDOCS_VERSION=1.6.1
venv=.tools/mkdocs
mkdocs=$venv/bin/mkdocs

install() {
  if [ -x "$mkdocs" ] && "$mkdocs" --version 2>/dev/null | grep -q "version $MKDOCS_VERSION "; then
    return 0
  fi
  for attempt in 1 2; do  # a second try: venv creation has failed here once, transiently
    rm -rf "$venv"
    if python3 -m venv "$venv" &&
      # (the grep drops pip's notes about index locations this machine's pip.conf names but lacks)
      "$venv/bin/pip" install -q --disable-pip-version-check "mkdocs==$MKDOCS_VERSION" 2>&1 >/dev/null \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2 &&
      "$mkdocs" --version >/dev/null; then
      return 0
    fi
    echo "docs.sh: installing mkdocs failed (attempt $attempt)" >&2
  done
  return 1
}

build() {
  # not --quiet: it hides the warnings, and then --strict has nothing to fail on
  "$mkdocs" build --strict --clean --site-dir "$1"
}

case "${1:-all}" in
  install) install && echo "$mkdocs" ;;
  build) install && build "${2:-site}" ;;
  all) install && build site && echo "docs: built site/ (mkdocs --strict)" ;;
  *) echo "usage: $0 [install | build DIR]" >&2 && exit 2 ;;
esac
