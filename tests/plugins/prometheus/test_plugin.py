"""The prometheus handler: what it records for each query, whoever answers it."""

from __future__ import annotations

import itertools

import dns.rcode
import pytest

from kdns.errors import PluginError
from kdns.metrics import REGISTRY, SIZE_BUCKETS, TIME_BUCKETS
from kdns.plugin import Handler
from kdns.plugins.prometheus.plugin import MetricsRecorder, Prometheus
from kdns.request import Request
from kdns.testing import Case, FakeWriter, error_handler, next_handler
from kdns.writer import ResponseWriter

_servers = itertools.count()


def _request(tc: Case, proto: str = "udp") -> Request:
    """A request with a server label no other test uses, so its counters start at zero."""
    req = tc.request(proto=proto)
    req.server = f"dns://test-{next(_servers)}:53"
    req.zone = "example.org."
    req.wire_len = len(req.msg.to_wire())
    return req


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _base(req: Request) -> dict[str, str]:
    return {"server": req.server, "zone": req.zone, "view": ""}


class _Named:
    """A next plugin named ``name`` that writes a reply with ``rcode`` and returns it."""

    def __init__(self, name: str, rcode: int) -> None:
        self.name = name
        self.rcode = rcode

    async def serve_dns(self, w: ResponseWriter, req: Request) -> int:
        reply = req.reply()
        reply.set_rcode(dns.rcode.Rcode.make(self.rcode))
        await w.write_msg(reply)
        return self.rcode


@pytest.mark.parametrize(
    ("nxt", "rcode", "plugin"),
    [
        (_Named("whoami", dns.rcode.NOERROR), "NOERROR", "whoami"),
        (_Named("hosts", dns.rcode.NXDOMAIN), "NXDOMAIN", "hosts"),
        (_Named("forward", dns.rcode.SERVFAIL), "SERVFAIL", "forward"),
        (_Named("cookie", dns.rcode.BADCOOKIE), "BADCOOKIE", "cookie"),
        (next_handler(dns.rcode.SERVFAIL), "SERVFAIL", ""),
        (next_handler(dns.rcode.REFUSED), "REFUSED", ""),
    ],
)
async def test_rcode_and_plugin(nxt: Handler, rcode: str, plugin: str) -> None:
    """responses_total counts the written rcode and its writer; an error rcode not written counts with plugin ''."""
    req = _request(Case("example.org.", "A"))
    w = FakeWriter()
    status = await Prometheus(next=nxt).serve_dns(w, req)
    assert status == nxt.rcode  # type: ignore[attr-defined]
    assert _value("coredns_dns_responses_total", **_base(req), rcode=rcode, plugin=plugin) == 1
    assert (
        sum(
            _value("coredns_dns_responses_total", **_base(req), rcode=rc, plugin=p)
            for rc in ("NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "BADCOOKIE")
            for p in ("", "whoami", "hosts", "forward", "cookie", "test")
        )
        == 1
    )


async def test_plugin_error_is_counted_and_reraised() -> None:
    """A PluginError from the chain is counted with its rcode and passed on to the server."""
    req = _request(Case("example.org.", "A"))
    with pytest.raises(PluginError):
        await Prometheus(next=error_handler("boom", dns.rcode.SERVFAIL)).serve_dns(FakeWriter(), req)
    assert _value("coredns_dns_responses_total", **_base(req), rcode="SERVFAIL", plugin="") == 1
    assert _value("coredns_dns_requests_total", **_base(req), proto="udp", family="1", type="A") == 1


async def test_last_in_chain_counts_servfail() -> None:
    """With nothing after it, prometheus raises 'no next plugin' and counts a SERVFAIL."""
    req = _request(Case("example.org.", "A"))
    with pytest.raises(PluginError, match="no next plugin"):
        await Prometheus().serve_dns(FakeWriter(), req)
    assert _value("coredns_dns_responses_total", **_base(req), rcode="SERVFAIL", plugin="") == 1


@pytest.mark.parametrize(
    ("tc", "proto", "type_label"),
    [
        (Case("example.org.", "A"), "udp", "A"),
        (Case("example.org.", "AAAA"), "tcp", "AAAA"),
        (Case("example.org.", "HTTPS"), "udp", "HTTPS"),
        (Case("example.org.", "NAPTR"), "udp", "other"),
        (Case("example.org.", 65280), "tcp", "other"),
    ],
    ids=str,
)
async def test_request_labels(tc: Case, proto: str, type_label: str) -> None:
    """requests_total is labelled by proto, family and type (uncommon types are 'other')."""
    req = _request(tc, proto)
    await Prometheus(next=_Named("whoami", 0)).serve_dns(FakeWriter(proto), req)
    assert _value("coredns_dns_requests_total", **_base(req), proto=proto, family="1", type=type_label) == 1


async def test_sizes_duration_and_do() -> None:
    """Request and response sizes are observed in bytes, the duration once, DO queries counted."""
    req = _request(Case("example.org.", "A", do=True))
    w = FakeWriter()
    await Prometheus(next=_Named("whoami", 0)).serve_dns(w, req)
    assert w.msg is not None
    labels = {**_base(req), "proto": "udp"}
    assert _value("coredns_dns_request_size_bytes_sum", **labels) == req.wire_len
    assert _value("coredns_dns_response_size_bytes_sum", **labels) == len(w.msg.to_wire())
    assert _value("coredns_dns_request_duration_seconds_count", **_base(req)) == 1
    assert 0 < _value("coredns_dns_request_duration_seconds_sum", **_base(req)) < 1
    assert _value("coredns_dns_do_requests_total", **_base(req)) == 1
    # the buckets are CoreDNS's
    assert _value("coredns_dns_request_size_bytes_bucket", **labels, le="100.0") == (req.wire_len <= 100)
    assert REGISTRY.get_sample_value("coredns_dns_request_duration_seconds_bucket", {**_base(req), "le": "8.192"}) == 1
    assert len(TIME_BUCKETS) == 16
    assert len(SIZE_BUCKETS) == 14


async def test_no_do_no_series() -> None:
    """Without a DO query, a zone has no do_requests_total series at all (as in CoreDNS)."""
    req = _request(Case("example.org.", "A"))
    await Prometheus(next=_Named("whoami", 0)).serve_dns(FakeWriter(), req)
    assert _value("coredns_dns_requests_total", **_base(req), proto="udp", family="1", type="A") == 1
    assert REGISTRY.get_sample_value("coredns_dns_do_requests_total", _base(req)) is None


async def test_recorder_notes_the_writing_plugin() -> None:
    """The recorder keeps req.plugin as it was when the reply was written, and the bytes written."""
    req = _request(Case("example.org.", "A"))
    rec = MetricsRecorder(FakeWriter(), req)
    assert rec.plugin == ""
    assert not rec.wrote
    req.plugin = "cache"
    n = await rec.write_msg(req.reply())
    req.plugin = "prometheus"
    assert rec.plugin == "cache"
    assert rec.len == n > 0
    assert rec.rcode == dns.rcode.NOERROR
