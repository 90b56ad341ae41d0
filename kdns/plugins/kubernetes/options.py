"""The kubernetes directive's options, parsed once at setup (see setup.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kdns.pkg.fall import Fall

DEFAULT_TTL = 5
DEFAULT_STARTUP_TIMEOUT = 5.0


@dataclass(frozen=True)
class KubeOptions:
    #: zones the plugin answers, normalised; the first non-reverse one is the primary zone
    zones: tuple[str, ...]
    #: API access: kubeconfig (path, context) wins over endpoint; neither means in-cluster
    kubeconfig: str = ""
    context: str = ""
    endpoint: str = ""
    #: client certificate, key and CA for ``endpoint``
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""
    #: manifest files read instead of an API (kdns's ``objects FILE...``)
    objects: tuple[str, ...] = ()
    api_qps: float = 0.0
    api_burst: int = 0
    api_max_inflight: int = 0
    namespaces: frozenset[str] = frozenset()
    namespace_labels: str = ""
    labels: str = ""
    #: disabled | insecure | verified
    pods: str = "disabled"
    endpoint_pod_names: bool = False
    ttl: int = DEFAULT_TTL
    noendpoints: bool = False
    fall: Fall = field(default_factory=Fall)
    ignore_empty_service: bool = False
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT

    @property
    def primary(self) -> str:
        """The first zone that is not a reverse zone (PTR targets live there)."""
        for z in self.zones:
            if not z.endswith(("in-addr.arpa.", "ip6.arpa.")):
                return z
        return self.zones[0]
