"""Test helpers for in-tree and third-party plugin tests (CoreDNS's plugin/test, in pytest form).

- ``Case``: one query and the reply expected, RRs written as zone-file text.
- ``FakeWriter``/``Recorder``: capture what a handler writes, no sockets.
- ``PassThrough``: a plugin that hands every query on (no wire form).
- ``next_handler``/``error_handler``: stub next plugins.
- ``controller``: a setup Controller over a Corefile snippet, for parse tests.
- ``FakeUpstream``: a real DNS server on 127.0.0.1 with an overridable ``handle``.
- ``run_instance``: start kdns from a Corefile string on 127.0.0.1, port 0; ``chain_plugin``: a test directive.
- ``free_port``: a port free for UDP and TCP, for a server that needs a fixed port; ``bindable``: is one.
- ``require_plugins``: skip a test while a plugin it needs is not registered.
- ``sample``: a metric sample's value in kdns's registry.
- ``gate_plugin``: a test directive that holds 'slow*' queries at a ``Gate`` until released.
- ``until``: poll a condition with a deadline (for state with no event to await).
- ``StepSleep``: an injectable sleep that a periodic task waits in until the test steps it.
"""

from kdns.config.controller import test_controller as controller
from kdns.testing.case import Case, rr, sort_section
from kdns.testing.gate import Gate, gate_plugin
from kdns.testing.instance import RunningInstance, chain_plugin, query, run_instance
from kdns.testing.metrics import sample
from kdns.testing.ports import bindable, free_port
from kdns.testing.skip import require_plugins
from kdns.testing.stubs import FakeWriter, PassThrough, Recorder, error_handler, next_handler
from kdns.testing.upstream import FakeUpstream
from kdns.testing.wait import StepSleep, until

__all__ = [
    "Case",
    "FakeUpstream",
    "FakeWriter",
    "Gate",
    "PassThrough",
    "Recorder",
    "RunningInstance",
    "StepSleep",
    "bindable",
    "chain_plugin",
    "controller",
    "error_handler",
    "free_port",
    "gate_plugin",
    "next_handler",
    "query",
    "require_plugins",
    "rr",
    "run_instance",
    "sample",
    "sort_section",
    "until",
]
