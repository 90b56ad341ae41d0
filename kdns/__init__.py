"""kdns: a CoreDNS-compatible DNS server in asyncio Python."""

__version__ = "0.1.0"
#: The CoreDNS release whose behaviour kdns follows (reported by -version and build_info).
CORE_VERSION = "1.14.7"

__all__ = ["CORE_VERSION", "__version__"]
