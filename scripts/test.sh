#!/usr/bin/env bash
# Installs what the test suite needs (Debian packages, a venv with kdns) and runs lint, types and tests.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(bind9-dnsutils knot-dnsutils prometheus unbound iproute2 iptables)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e '.[test,fast]'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
bash scripts/docs.sh  # documentation site: mkdocs --strict (installs mkdocs into .tools/mkdocs)
bash scripts/image-check.sh  # Dockerfile: hadolint, then podman build + run (about 2 min cold, under 1 min warm)
bash scripts/chart-tools.sh  # helm, kubernetes-validate, yamllint, checkov for tests/chart (into .tools/)
.venv/bin/python -m pytest "$@"
