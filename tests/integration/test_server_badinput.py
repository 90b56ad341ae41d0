"""Bad input over real sockets never crashes the server: it answers FORMERR/NOTIMP or drops, then goes on."""

from __future__ import annotations

import itertools
import socket
import struct
from collections.abc import Iterator

import dns.message
import dns.opcode
import dns.rcode
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdns.core.state import Limits
from kdns.testing.instance import ThreadedInstance, run_in_thread

_ids = itertools.count(1)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedInstance]:
    with run_in_thread(".:0 {\n whoami\n}\n", limits=Limits(read_timeout=0.5)) as inst:
        yield inst


def query_wire(name: str = "example.org.", qid: int = 4660, **kw: object) -> bytes:
    q = dns.message.make_query(name, "A", **kw)  # type: ignore[arg-type]
    q.id = qid
    return q.to_wire()


def with_header(wire: bytes, *, flags: int | None = None, qd: int | None = None) -> bytes:
    qid, f, q, an, ns, ar = struct.unpack_from("!HHHHHH", wire)
    return struct.pack("!HHHHHH", qid, f if flags is None else flags, q if qd is None else qd, an, ns, ar) + wire[12:]


def udp_send_then_check(port: int, junk: bytes) -> list[bytes]:
    """Send ``junk``, then a good query; return the replies that came before the good query's answer."""
    name = f"alive-{next(_ids)}.example.org."
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.connect(("127.0.0.1", port))
        s.send(junk)
        s.send(query_wire(name, qid=7))
        before = []
        while True:
            data = s.recv(65535)
            m = dns.message.from_wire(data)
            if m.id == 7 and m.question and m.question[0].name.to_text() == name:
                assert m.rcode() == dns.rcode.NOERROR
                return before
            before.append(data)


def tcp_exchange(port: int, stream: bytes) -> list[bytes]:
    """Send ``stream`` on a new connection, half-close, and collect the frames until the server hangs up."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        try:
            s.sendall(stream)
            s.shutdown(socket.SHUT_WR)
        except ConnectionError:
            return []
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    frames = []
    while len(data) >= 2:
        (n,) = struct.unpack_from("!H", data)
        assert len(data) >= 2 + n, "the server sent a cut-off frame"
        frames.append(data[2 : 2 + n])
        data = data[2 + n :]
    assert not data
    return frames


def assert_replies(replies: list[bytes]) -> None:
    """Whatever the server sent back is a well-formed DNS response."""
    for wire in replies:
        m = dns.message.from_wire(wire)
        assert m.flags & 0x8000


def tcp_alive(port: int) -> None:
    frames = tcp_exchange(port, _frame(query_wire(qid=99)))
    assert [dns.message.from_wire(f).id for f in frames] == [99]


def _frame(wire: bytes) -> bytes:
    return struct.pack("!H", len(wire)) + wire


# -- specific bad packets --------------------------------------------------------------

GOOD = query_wire()
LOOP = GOOD[:12] + b"\xc0\x0c" + GOOD[-4:]  # the question name points at itself
LONG_NAME = GOOD[:12] + b"\x01a" * 130 + b"\x00" + GOOD[-4:]  # 261 octets > 255
BAD_LABEL = GOOD[:12] + b"\x41" + b"a" * 65 + b"\x00" + GOOD[-4:]  # label type 01 is reserved

ANSWERED = [
    pytest.param(with_header(GOOD, flags=dns.opcode.to_flags(dns.opcode.STATUS)), dns.rcode.NOTIMP, id="opcode-status"),
    pytest.param(with_header(GOOD, flags=dns.opcode.to_flags(dns.opcode.IQUERY)), dns.rcode.NOTIMP, id="opcode-iquery"),
    pytest.param(with_header(GOOD, flags=dns.opcode.to_flags(dns.opcode.UPDATE)), dns.rcode.NOTIMP, id="opcode-update"),
    pytest.param(with_header(GOOD, qd=0), dns.rcode.FORMERR, id="qdcount-0"),
    pytest.param(with_header(GOOD, qd=2), dns.rcode.FORMERR, id="qdcount-2"),
    pytest.param(GOOD + GOOD[12:], dns.rcode.FORMERR, id="trailing-garbage"),
    pytest.param(LOOP, dns.rcode.FORMERR, id="pointer-loop"),
    pytest.param(LONG_NAME, dns.rcode.FORMERR, id="name-too-long"),
    pytest.param(BAD_LABEL, dns.rcode.FORMERR, id="bad-label-type"),
    pytest.param(GOOD[:-1], dns.rcode.FORMERR, id="cut-question"),
    pytest.param(GOOD[:13], dns.rcode.FORMERR, id="header-and-one-byte"),
]


@pytest.mark.parametrize(("wire", "rcode"), ANSWERED)
def test_bad_query_gets_error_over_udp(server: ThreadedInstance, wire: bytes, rcode: int) -> None:
    """A malformed query or one with an unsupported opcode is answered with the right rcode and the same ID."""
    replies = udp_send_then_check(server.port, wire)
    assert len(replies) == 1
    m = dns.message.from_wire(replies[0])
    assert m.rcode() == rcode
    assert m.id == 4660


@pytest.mark.parametrize(("wire", "rcode"), ANSWERED)
def test_bad_query_gets_error_over_tcp(server: ThreadedInstance, wire: bytes, rcode: int) -> None:
    """Over TCP the same packets get the same answers, and the connection keeps serving the next query."""
    frames = tcp_exchange(server.port, _frame(wire) + _frame(query_wire(qid=5)))
    assert [dns.message.from_wire(f).rcode() for f in frames] == [rcode, dns.rcode.NOERROR]
    assert [dns.message.from_wire(f).id for f in frames] == [4660, 5]


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(with_header(GOOD, flags=0x8000), id="a-response"),
        pytest.param(GOOD[:11], id="shorter-than-header"),
        pytest.param(b"", id="empty"),
    ],
)
def test_unanswerable_packet_is_dropped_over_udp(server: ThreadedInstance, wire: bytes) -> None:
    """Responses and packets shorter than a header get no reply; the next query is answered."""
    assert udp_send_then_check(server.port, wire) == []


def test_every_truncation_of_a_query(server: ThreadedInstance) -> None:
    """A query cut at any length gets FORMERR (or nothing below 12 bytes), and nothing else."""
    wire = query_wire(use_edns=0, want_dnssec=True)
    for n in range(len(wire)):
        replies = udp_send_then_check(server.port, wire[:n])
        if n < 12:
            assert replies == []
        else:
            assert [dns.message.from_wire(r).rcode() for r in replies] == [dns.rcode.FORMERR]


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(b"\x00\x05" + GOOD, id="length-too-short"),
        pytest.param(b"\x01\x00" + GOOD, id="length-too-long"),
        pytest.param(b"\x00\x00", id="length-zero"),
        pytest.param(b"\xff\xff" + b"\x00" * 100, id="length-max-partial"),
    ],
)
def test_wrong_tcp_length_prefix(server: ThreadedInstance, stream: bytes) -> None:
    """A wrong length prefix never yields a cut-off or malformed answer; the server keeps serving."""
    assert_replies(tcp_exchange(server.port, stream))
    tcp_alive(server.port)


# -- random input ----------------------------------------------------------------------


@st.composite
def mutated_queries(draw: st.DrawFn) -> bytes:
    """A valid query with random byte edits, a random cut, or junk appended."""
    name = draw(st.from_regex(r"\A([a-z0-9-]{1,20}\.){1,4}\Z"))
    wire = bytearray(query_wire(name, qid=draw(st.integers(0, 65535)), use_edns=draw(st.sampled_from([False, 0]))))
    for _ in range(draw(st.integers(0, 4))):
        wire[draw(st.integers(0, len(wire) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(wire)))
    return bytes(wire[:cut]) + draw(st.binary(max_size=20))


PACKETS = st.one_of(
    st.binary(max_size=600),
    mutated_queries(),
    st.binary(min_size=4, max_size=300).map(lambda b: b"\x12\x34\x00\x00\x00\x01" + b),  # header-ish, qdcount 1
)


@SETTINGS
@given(packet=PACKETS)
def test_random_udp_packets(server: ThreadedInstance, packet: bytes) -> None:
    """Any datagram gets at most well-formed responses, and the server answers the next query."""
    assert_replies(udp_send_then_check(server.port, packet))


@SETTINGS
@given(
    frames=st.lists(st.one_of(PACKETS.map(_frame), st.binary(max_size=50)), min_size=1, max_size=4),
)
def test_random_tcp_streams(server: ThreadedInstance, frames: list[bytes]) -> None:
    """Any byte stream on a TCP connection gets only well-formed, whole frames back; new connections still work."""
    assert_replies(tcp_exchange(server.port, b"".join(frames)))
    tcp_alive(server.port)
