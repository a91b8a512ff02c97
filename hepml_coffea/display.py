"""Terminal output shared by the commands."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


def make_console() -> Console:
    """A rich console; wide when writing to a file or pipe, so tables are not squeezed to 80 columns."""
    return Console(width=None if sys.stdout.isatty() else 160)


@contextmanager
def silence_coffea() -> Iterator[None]:
    """Silence coffea's progress bars and console messages for ``--quiet``.

    coffea draws every progress bar on ``coffea.util.coffea_console`` whatever ``status=`` says
    (the futures executor ignores it; the iterative one passes it where rich does not read it),
    so the console itself is muted. Errors and warnings, retry notices among them, still show:
    deterministic input errors are never retried (:mod:`hepml_coffea.inputs`), so a retry notice
    means something transient went wrong, which a quiet run should still say.
    """
    from coffea.util import coffea_console

    previous_quiet = coffea_console.quiet
    coffea_console.quiet = True
    try:
        yield
    finally:
        coffea_console.quiet = previous_quiet
