"""*greeting*: an example third-party kdns plugin that answers TXT queries for one name.

Importing this package registers the directive (kdns does it through the ``kdns.plugins`` entry point).
"""

from kdns_greeting import setup as setup
