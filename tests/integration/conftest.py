"""The ``gate`` fixture: a test directive ``gate`` that holds 'slow*' queries until the test releases them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kdns.testing import Gate, gate_plugin


@pytest.fixture
def gate() -> Iterator[Gate]:
    with gate_plugin() as g:
        yield g
