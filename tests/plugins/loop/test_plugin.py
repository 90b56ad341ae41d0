"""The loop handler: counts arrivals of its probe name; the third one is a loop."""

from __future__ import annotations

import logging

import dns.rcode
import pytest

from kdns.plugins.loop.plugin import Loop, host_port
from kdns.testing import Case, FakeWriter, Recorder, next_handler

PROBE = "123.456.example.org."


def make(calls: list[int]) -> Loop:
    return Loop("example.org.", PROBE, next=next_handler(), on_loop=lambda: calls.append(1), address=":1053")


async def serve(h: Loop, name: str, qtype: str = "HINFO", remote: str = "127.0.0.1") -> int:
    rec = Recorder(FakeWriter(remote=(remote, 40000)))
    return await h.serve_dns(rec, Case(name, qtype).request(remote=remote, port=40000))


async def test_third_arrival_is_a_loop(caplog: pytest.LogCaptureFixture) -> None:
    """The probe name seen twice passes on; the third time it logs the loop, exits, and is not passed on."""
    calls: list[int] = []
    h = make(calls)
    assert await serve(h, PROBE) == dns.rcode.NOERROR
    assert await serve(h, PROBE.upper().replace("EXAMPLE", "Example")) == dns.rcode.NOERROR  # any case
    assert calls == []
    with caplog.at_level(logging.INFO, logger="kdns"):
        assert await serve(h, PROBE) == dns.rcode.SERVFAIL
    assert calls == [1]
    assert h.next.calls == 2  # type: ignore[union-attr]
    want = (
        'Loop (127.0.0.1:40000 -> :1053) detected for zone "example.org.", see '
        f'https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO {PROBE}"'
    )
    assert [r.getMessage() for r in caplog.records if r.name == "kdns.plugin.loop"] == [want]
    assert caplog.records[-1].levelno == logging.CRITICAL


async def test_exit_fires_once() -> None:
    """Further arrivals after the detection do not call the exit again."""
    calls: list[int] = []
    h = make(calls)
    for _ in range(5):
        await serve(h, PROBE)
    assert calls == [1]


@pytest.mark.parametrize(
    ("name", "qtype"),
    [(PROBE, "A"), ("124.456.example.org.", "HINFO"), ("example.org.", "HINFO")],
)
async def test_other_queries_are_not_counted(name: str, qtype: str) -> None:
    """Only HINFO queries for the probe name count; anything else passes on however often it comes."""
    calls: list[int] = []
    h = make(calls)
    for _ in range(5):
        assert await serve(h, name, qtype) == dns.rcode.NOERROR
    assert calls == []
    assert h.seen == 0


async def test_off_passes_everything() -> None:
    """Once switched off (probe answered), even repeated probe queries pass straight on."""
    calls: list[int] = []
    h = make(calls)
    h.off = True
    for _ in range(5):
        assert await serve(h, PROBE) == dns.rcode.NOERROR
    assert calls == []
    assert h.next.calls == 5


@pytest.mark.parametrize(
    ("host", "port", "want"),
    [("", 53, ":53"), ("127.0.0.10", 53, "127.0.0.10:53"), ("::1", 1053, "[::1]:1053")],
)
def test_host_port(host: str, port: int, want: str) -> None:
    """Addresses in the log line are written as Go's JoinHostPort writes them."""
    assert host_port(host, port) == want
