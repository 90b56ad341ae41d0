"""Test helpers for in-tree and third-party plugin tests (CoreDNS's plugin/test, in pytest form).

- ``Case``: one query and the reply expected, RRs written as zone-file text.
- ``FakeWriter``/``Recorder``: capture what a handler writes, no sockets.
- ``next_handler``/``error_handler``: stub next plugins.
- ``controller``: a setup Controller over a Corefile snippet, for parse tests.
- ``FakeUpstream``: a real DNS server on 127.0.0.1 with an overridable ``handle``.
- ``run_instance``: start kdns from a Corefile string on 127.0.0.1, port 0.
"""

from kdns.config.controller import test_controller as controller
from kdns.testing.case import Case, rr, sort_section
from kdns.testing.instance import RunningInstance, query, run_instance
from kdns.testing.stubs import FakeWriter, Recorder, error_handler, next_handler
from kdns.testing.upstream import FakeUpstream

__all__ = [
    "Case",
    "FakeUpstream",
    "FakeWriter",
    "Recorder",
    "RunningInstance",
    "controller",
    "error_handler",
    "next_handler",
    "query",
    "rr",
    "run_instance",
    "sort_section",
]
