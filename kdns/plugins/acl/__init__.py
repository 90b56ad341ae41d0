"""*acl*: allow, block, filter or drop queries by source network and query type."""

from kdns.plugins.acl import setup as setup
