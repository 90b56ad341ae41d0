"""*hosts*: answers A, AAAA and PTR queries from an /etc/hosts style file and inline entries."""

from kdns.plugins.hosts import setup as setup
