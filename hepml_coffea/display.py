"""Terminal output shared by the commands."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

#: coffea's Runner warns with this before each retry of a failed chunk or file.
RETRY_NOTICE = "Performed attempt"


def make_console() -> Console:
    """A rich console; wide when writing to a file or pipe, so tables are not squeezed to 80 columns."""
    return Console(width=None if sys.stdout.isatty() else 160)


@contextmanager
def silence_coffea() -> Iterator[None]:
    """Silence coffea for ``--quiet``: its progress bars, console messages and retry notices.

    coffea draws every progress bar on ``coffea.util.coffea_console`` whatever ``status=`` says
    (the futures executor ignores it; the iterative one passes it where rich does not read it),
    so the console itself is muted. Retry notices are also muted in worker processes started
    meanwhile, through ``PYTHONWARNINGS``. Errors and other warnings still show.
    """
    from coffea.util import coffea_console

    ignore_retries = f"ignore:{RETRY_NOTICE}:UserWarning"
    previous_env = os.environ.get("PYTHONWARNINGS")
    previous_quiet = coffea_console.quiet
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [previous_env, ignore_retries]))
    coffea_console.quiet = True
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=RETRY_NOTICE, category=UserWarning)
            yield
    finally:
        coffea_console.quiet = previous_quiet
        if previous_env is None:
            del os.environ["PYTHONWARNINGS"]
        else:
            os.environ["PYTHONWARNINGS"] = previous_env
