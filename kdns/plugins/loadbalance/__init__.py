"""*loadbalance*: shuffles A, AAAA and MX records in replies, optionally preferring subnets."""

from kdns.plugins.loadbalance import setup as setup
