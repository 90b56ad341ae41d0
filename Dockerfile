# kdns container image. Build: `docker build -t kdns .` (or `podman build --format docker -t kdns .`).
# Offline builds: put the wheels in .tools/wheels first (scripts/image-check.sh does) and pass
# `--build-arg PIP_NO_INDEX=1`; see docs/container.md.

# ---- build stage: a venv with kdns and uvloop; nothing of this stage but /opt/venv ships -----------------
FROM python:3.12-slim AS build

# pip reads these from the environment: PIP_NO_INDEX=1 installs only from the prepared wheels.
ARG PIP_NO_INDEX=0
ARG PIP_FIND_LINKS=/src/.tools/wheels
ENV PIP_DISABLE_PIP_VERSION_CHECK=1

# .dockerignore lets only the package sources (and any prepared wheels) into the context
COPY . /src

# `python3`, not a fixed /usr/local path, so the Debian stand-in base used in CI builds too.
# The kdns wheel is built here unless one was prepared; then it is installed with the `fast` extra (uvloop).
RUN python3 -m venv /opt/venv \
 && mkdir -p /src/.tools/wheels \
 && if ! ls /src/.tools/wheels/kdns-*.whl >/dev/null 2>&1; then \
      /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /src/.tools/wheels /src; \
    fi \
 && /opt/venv/bin/pip install --no-cache-dir "$(ls /src/.tools/wheels/kdns-*.whl)[fast]" \
 && /opt/venv/bin/python -c "import kdns, uvloop" \
 && mkdir -p /etc/kdns \
 && printf '%s\n' \
      '# Default Corefile: answers at once, without a cluster. Mount your own at /etc/kdns/Corefile.' \
      '# Port 1053, not 53: the image runs as a non-root user (see docs/container.md).' \
      '.:1053 {' \
      '    errors' \
      '    health :8080 {' \
      '        lameduck 5s' \
      '    }' \
      '    ready :8181' \
      '    prometheus :9153' \
      '    hosts {' \
      '        fallthrough' \
      '    }' \
      '    whoami' \
      '}' > /etc/kdns/Corefile

# ---- nodelocal target (`--target nodelocal`): the runtime plus ip and iptables for `kdns nodelocal` ------
# The node-local DaemonSet runs it as root with only NET_ADMIN and NET_BIND_SERVICE (charts/kdns).
FROM python:3.12-slim AS nodelocal

# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 iptables \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
COPY --from=build /etc/kdns/Corefile /etc/kdns/Corefile
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
STOPSIGNAL SIGTERM
ENTRYPOINT ["kdns"]
CMD ["nodelocal", "-localip", "169.254.20.10"]

# ---- runtime stage (the default target): same base, no build tools, no sources ---------------------------
FROM python:3.12-slim

COPY --from=build /opt/venv /opt/venv
COPY --from=build /etc/kdns/Corefile /etc/kdns/Corefile

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# numeric uid:gid ("nonroot" of distroless and of the CoreDNS image) so runAsNonRoot can be verified
USER 65532:65532

# DNS on 1053 (map 53 -> 1053 outside), health, ready, metrics
EXPOSE 1053/udp 1053/tcp 8080/tcp 8181/tcp 9153/tcp

# Docker and Podman only (Kubernetes uses the probes). slim has no curl: exec Python.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)"]

# kdns handles SIGTERM itself (lameduck, drain, exit 0), so no init process is needed as PID 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["kdns"]
CMD ["-conf", "/etc/kdns/Corefile"]
