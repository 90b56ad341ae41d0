"""Skipping tests whose plugins are not registered (yet) in this build."""

from __future__ import annotations

from kdns.config import registry


def require_plugins(*plugins: str) -> None:
    """Skip the running test while a plugin it needs is not registered yet."""
    import pytest  # only tests call this; kdns itself does not depend on pytest

    registry.load()
    missing = [p for p in plugins if registry.get(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed yet")
