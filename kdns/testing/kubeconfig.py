"""Write a kubeconfig file pointing a Kubernetes client at a server with a bearer token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def kubeconfig(server: str, token: str, name: str = "kdns-test", namespace: str = "default") -> dict[str, Any]:
    """A kubeconfig as a dict: one cluster (``server``; TLS verification off for https), one token user."""
    cluster: dict[str, Any] = {"server": server}
    if server.startswith("https:"):
        cluster["insecure-skip-tls-verify"] = True
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(path: str | Path, server: str, token: str) -> Path:
    """Write ``kubeconfig(server, token)`` to ``path`` (JSON, which is YAML) and return the path."""
    out = Path(path)
    out.write_text(json.dumps(kubeconfig(server, token), indent=2) + "\n")
    return out
