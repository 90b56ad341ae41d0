"""forward metrics, with CoreDNS's names: the shared ``coredns_proxy_*`` family and two of its own."""

from __future__ import annotations

from kdns.metrics import TIME_BUCKETS, LoopMetric

#: the ``proxy_name`` label value of every forward series
PROXY_NAME = "forward"

REQUEST_DURATION = LoopMetric(
    "request_duration_seconds",
    "Histogram of the time each request took.",
    ["proxy_name", "to", "rcode"],
    subsystem="proxy",
    buckets=TIME_BUCKETS,
)
HEALTHCHECK_FAILURES = LoopMetric(
    "healthcheck_failures",
    "Counter of the number of failed healthchecks.",
    ["proxy_name", "to"],
    subsystem="proxy",
)
CONN_CACHE_HITS = LoopMetric(
    "conn_cache_hits",
    "Counter of connection cache hits per upstream and protocol.",
    ["proxy_name", "to", "proto"],
    subsystem="proxy",
)
CONN_CACHE_MISSES = LoopMetric(
    "conn_cache_misses",
    "Counter of connection cache misses per upstream and protocol.",
    ["proxy_name", "to", "proto"],
    subsystem="proxy",
)
HEALTHCHECK_BROKEN = LoopMetric(
    "healthcheck_broken",
    "Counter of the number of complete failures of the healthchecks.",
    [],
    subsystem="forward",
)
MAX_CONCURRENT_REJECTS = LoopMetric(
    "max_concurrent_rejects",
    "Counter of the number of queries rejected because the concurrent queries were at maximum.",
    [],
    subsystem="forward",
)

#: the unlabelled counters' only series, exported as 0 from the start
BROKEN = HEALTHCHECK_BROKEN.labels()
REJECTS = MAX_CONCURRENT_REJECTS.labels()
