"""Request: one parsed query plus the transport facts plugins need, computed once."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import final

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

MAX_TCP = 65535
MIN_UDP = 512


@final
class Request:
    """A query as the chain sees it. Plugins read it; they never change ``msg`` in place."""

    __slots__ = (
        "do",
        "family",
        "local",
        "meta",
        "msg",
        "plugin",
        "proto",
        "qclass",
        "qname",
        "qname_raw",
        "qtype",
        "remote",
        "server",
        "size",
        "spent",
        "upstream",
        "view",
        "wire_len",
        "zone",
    )

    def __init__(
        self,
        msg: dns.message.Message,
        *,
        remote: tuple[str, int] = ("127.0.0.1", 0),
        local: tuple[str, int] = ("127.0.0.1", 53),
        proto: str = "udp",
        server: str = "dns://:53",
        wire_len: int = 0,
    ) -> None:
        self.msg = msg
        self.remote = remote
        self.local = local
        self.proto = proto
        self.server = server
        self.zone = "."
        self.view = ""
        self.meta: dict[str, Callable[[], str]] = {}
        #: name of the handler running now; the metrics plugin reads it to label who wrote the reply
        self.plugin = ""
        self.wire_len = wire_len
        #: an upstream's reply to this query already in hand (the wire path got it; forward uses it once)
        self.upstream: bytes | None = None
        #: seconds the wire path already spent on this query upstream (forward's deadline counts them)
        self.spent = 0.0
        self.family = socket.AF_INET6 if ":" in remote[0] else socket.AF_INET
        if msg.question:
            q = msg.question[0]
            self.qname_raw = q.name.to_text()
            self.qname = self.qname_raw.lower()
            self.qtype = q.rdtype
            self.qclass = q.rdclass
        else:
            self.qname_raw = self.qname = "."
            self.qtype = dns.rdatatype.NONE
            self.qclass = dns.rdataclass.IN
        opt = msg.opt  # read once: edns, ednsflags and payload are properties over it
        self.do = bool(opt.ttl & dns.flags.DO) if opt is not None else False
        if proto == "tcp":
            self.size = MAX_TCP
        elif opt is not None:
            self.size = max(MIN_UDP, opt[0].payload)
        else:
            self.size = MIN_UDP

    @property
    def ip(self) -> str:
        return self.remote[0]

    @property
    def port(self) -> int:
        return self.remote[1]

    @property
    def id(self) -> int:
        return self.msg.id

    @property
    def type_text(self) -> str:
        return dns.rdatatype.to_text(self.qtype)

    @property
    def class_text(self) -> str:
        return dns.rdataclass.to_text(self.qclass)

    @property
    def family_label(self) -> str:
        """'1' for IPv4, '2' for IPv6 (the metrics label CoreDNS uses)."""
        return "2" if self.family == socket.AF_INET6 else "1"

    def with_question(self, name: str | dns.name.Name, qtype: int) -> Request:
        """A copy of this request asking ``name``/``qtype``; id, flags and EDNS are kept."""
        qn = dns.name.from_text(name) if isinstance(name, str) else name
        m = dns.message.Message(id=self.msg.id)
        m.flags = self.msg.flags
        m.question = [dns.rrset.RRset(qn, self.qclass, dns.rdatatype.RdataType.make(qtype))]
        if self.msg.edns >= 0:
            m.use_edns(0, self.msg.ednsflags, self.msg.payload, options=list(self.msg.options))
        r = Request(m, remote=self.remote, local=self.local, proto=self.proto, server=self.server)
        r.zone, r.view, r.meta, r.wire_len = self.zone, self.view, self.meta, self.wire_len
        return r

    def reply(self) -> dns.message.Message:
        """An empty NOERROR reply to this query: same id, question, opcode, RD and CD."""
        return make_reply(self.msg)


def make_reply(query: dns.message.Message, rcode: int = 0) -> dns.message.Message:
    """A response skeleton for ``query`` without copying its EDNS (the server mirrors OPT on write)."""
    r = dns.message.Message(id=query.id)
    r.flags = dns.flags.QR | (query.flags & (dns.flags.RD | dns.flags.CD))
    r.set_opcode(query.opcode())
    r.question = list(query.question)
    if rcode:
        r.set_rcode(dns.rcode.Rcode.make(rcode))
    return r
