"""The wire form of errors: a cache hit has no error to log, so errors never holds up the fast path."""

from __future__ import annotations

import logging

import pytest

from kdns.plugin import WireStage
from kdns.plugins.errors.plugin import Errors
from kdns.testing.wirecache import Entry, reply_bytes, wire_query


def test_errors_passes_every_query_and_leaves_the_reply(caplog: pytest.LogCaptureFixture) -> None:
    """wire_pass is True, and wire_done neither changes the reply nor logs."""
    h = Errors()
    assert isinstance(h, WireStage)
    q = wire_query("example.org.", "A")
    assert h.wire_pass(q)
    reply = reply_bytes(q, Entry(answer=["example.org. 300 IN A 10.0.0.1"]))
    assert reply is not None
    before = bytes(reply)
    with caplog.at_level(logging.DEBUG, logger="kdns"):
        h.wire_done(q, reply, 0)
    assert bytes(reply) == before
    assert not [r for r in caplog.records if r.name == "kdns.plugin.errors"]
