"""*rewrite*: rewrite queries before the chain answers them, and the replies back."""

from kdns.plugins.rewrite import setup as setup
