"""greeting's metrics, in kdns's registry so ``prometheus`` exports them."""

from __future__ import annotations

from prometheus_client import Counter

from kdns.metrics import NAMESPACE, REGISTRY, Children

ANSWERS = Counter(
    "answers",
    "Counter of TXT queries answered by the greeting plugin.",
    ["server"],
    namespace=NAMESPACE,
    subsystem="greeting",
    registry=REGISTRY,
)
#: label children by (server,), resolved once per label set
answers = Children(ANSWERS)
