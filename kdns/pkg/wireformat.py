"""DNS wire-format constants (RFC 1035, RFC 6891) shared by everything that reads or patches message bytes."""

from __future__ import annotations

import struct

#: ID, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT
HEADER = struct.Struct("!HHHHHH")
#: a question's QTYPE, QCLASS (after its name)
QUESTION = struct.Struct("!HH")
#: an RR's TYPE, CLASS, TTL, RDLENGTH (after its name)
RR = struct.Struct("!HHIH")
U16 = struct.Struct("!H")
U32 = struct.Struct("!I")

#: header flag bits
QR = 0x8000
OPCODE = 0x7800
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080
AD = 0x0020
CD = 0x0010
#: the OPT pseudo-RR type and its DNSSEC OK bit (in the TTL's low 16 bits)
OPT = 41
DO = 0x8000
#: the largest message (TCP length prefix)
MAX_WIRE = 65535
