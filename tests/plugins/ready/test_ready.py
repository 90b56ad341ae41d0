"""/ready: 200 once every Ready plugin of the ready blocks is ready, else 503 naming them; monitor modes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import dns.rcode

from kdns.plugins.ready.plugin import Readiness

Get = Callable[[int, str], Awaitable[tuple[int, str]]]
HTTP = "127.0.0.1:0"


class _Plugin:
    def __init__(self, name: str, ok: bool = False) -> None:
        self.name = name
        self.ok = ok
        self.asked = 0

    def ready(self) -> bool:
        self.asked += 1
        return self.ok


def test_not_ready_sorted_and_deduplicated() -> None:
    """Not-ready plugins are listed sorted, each name once."""
    r = Readiness()
    for p in (_Plugin("kubernetes"), _Plugin("erratic"), _Plugin("kubernetes"), _Plugin("hosts", ok=True)):
        r.add(p.name, p, continuously=False)
    assert r.not_ready() == ["erratic", "kubernetes"]


def test_until_ready_stops_asking() -> None:
    """until-ready: once a plugin said ready it is not asked again, even if it would say no."""
    p = _Plugin("kubernetes", ok=True)
    r = Readiness()
    r.add(p.name, p, continuously=False)
    assert r.not_ready() == []
    p.ok = False
    assert r.not_ready() == []
    assert p.asked == 1


def test_continuously_asks_every_time() -> None:
    """continuously: a plugin that was ready and no longer is makes /ready fail again."""
    p = _Plugin("kubernetes", ok=True)
    r = Readiness()
    r.add(p.name, p, continuously=True)
    assert r.not_ready() == []
    p.ok = False
    assert r.not_ready() == ["kubernetes"]
    assert p.asked == 2


def test_failing_check_counts_as_not_ready() -> None:
    """A ready() that raises means not ready."""

    class Broken:
        def ready(self) -> bool:
            raise RuntimeError("boom")

    r = Readiness()
    r.add("broken", Broken(), continuously=False)
    assert r.not_ready() == ["broken"]


async def test_ready_without_ready_plugins(http_get: Get, run_with: Any) -> None:
    """With no plugin implementing ready(), /ready is 200 OK at once."""
    async with run_with(".:0 {\n ready 127.0.0.1:0\n whoami\n}\n", []) as inst:
        assert await http_get(inst.http_port(HTTP), "/ready") == (200, "OK")


async def test_not_ready_then_ready(http_get: Get, run_with: Any, make_flag: Any) -> None:
    """/ready is 503 listing the not-ready plugins (sorted, comma-separated) until each says ready."""
    a, b = make_flag("zeta"), make_flag("alpha")
    async with run_with(".:0 {\n ready 127.0.0.1:0\n whoami\n}\n", [a, b]) as inst:
        port = inst.http_port(HTTP)
        assert (await inst.query("example.org", "A")).rcode() == dns.rcode.NOERROR  # DNS is served meanwhile
        assert await http_get(port, "/ready") == (503, "alpha,zeta")
        b.is_ready = True
        assert await http_get(port, "/ready") == (503, "zeta")
        a.is_ready = True
        assert await http_get(port, "/ready") == (200, "OK")
        a.is_ready = False  # until-ready (the default): not asked again
        assert await http_get(port, "/ready") == (200, "OK")


async def test_monitor_continuously(http_get: Get, run_with: Any, make_flag: Any) -> None:
    """monitor continuously: a plugin going unready again turns /ready back to 503."""
    a = make_flag("flag", is_ready=True)
    cf = ".:0 {\n ready 127.0.0.1:0 {\n  monitor continuously\n }\n whoami\n}\n"
    async with run_with(cf, [a]) as inst:
        port = inst.http_port(HTTP)
        assert await http_get(port, "/ready") == (200, "OK")
        a.is_ready = False
        assert await http_get(port, "/ready") == (503, "flag")


async def test_only_blocks_with_ready_count(http_get: Get, run_with: Any, make_flag: Any) -> None:
    """Ready plugins of blocks that do not enable ready are not asked; two ready blocks share one address."""
    a = make_flag("flag")
    cf = (
        "example.org:0 {\n ready 127.0.0.1:0\n whoami\n}\n"
        "example.net:0 {\n ready 127.0.0.1:0\n whoami\n}\n"
        "example.com:0 {\n whoami\n}\n"
    )
    async with run_with(cf, [a]) as inst:
        assert await http_get(inst.http_port(HTTP), "/ready") == (503, "flag")
        assert inst.runner.instance is not None
        readiness = inst.runner.instance.shared["ready"]
        assert readiness.addrs == {HTTP}
        # the flag sits in all three chains; only the two ready blocks registered it
        assert readiness.plugins == ["flag", "flag"]


async def test_ready_503_when_stopping(http_get: Get, run_with: Any, make_flag: Any) -> None:
    """Once the process begins to stop, /ready answers 503 even when every plugin is ready."""
    async with run_with(".:0 {\n ready 127.0.0.1:0\n whoami\n}\n", [make_flag("flag", True)]) as inst:
        port = inst.http_port(HTTP)
        assert await http_get(port, "/ready") == (200, "OK")
        assert inst.runner.instance is not None
        inst.runner.instance.stopping = True
        assert await http_get(port, "/ready") == (503, "Shutting down")
