"""Reading kdns's own metrics in tests."""

from __future__ import annotations

from kdns.metrics import REGISTRY


def sample(name: str, **labels: str) -> float:
    """The value of sample ``name`` with exactly ``labels`` in kdns's registry (0.0 when absent)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0
