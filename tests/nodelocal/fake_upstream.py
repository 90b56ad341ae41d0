"""A FakeUpstream on 127.0.0.1 as its own process (run inside the test's network namespace).

Usage: python fake_upstream.py PORTFILE. Answers kubernetes.default.svc.cluster.local. A and
www.example.org. A; NXDOMAIN otherwise. Writes its port to PORTFILE once bound, runs until killed.
"""

from __future__ import annotations

import asyncio
import os
import sys

from kdns.testing.upstream import FakeUpstream

RECORDS = {
    ("kubernetes.default.svc.cluster.local.", "A"): ["kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1"],
    ("www.example.org.", "A"): ["www.example.org. 5 IN A 192.0.2.80"],
}


async def main(portfile: str) -> None:
    up = await FakeUpstream(records=RECORDS).start()
    with open(portfile + ".tmp", "w") as f:
        f.write(str(up.port))
    os.replace(portfile + ".tmp", portfile)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
