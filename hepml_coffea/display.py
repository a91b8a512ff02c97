"""Terminal output shared by the commands."""

import sys

from rich.console import Console


def make_console() -> Console:
    """A rich console; wide when writing to a file or pipe, so tables are not squeezed to 80 columns."""
    return Console(width=None if sys.stdout.isatty() else 160)
