"""Argument types shared by the ``hepml-coffea`` commands' parsers."""

from __future__ import annotations

import argparse
from pathlib import Path

from hepml_coffea.inputs import is_remote


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def local_file(text: str) -> Path:
    """An argparse type: a file on this machine. ``train`` and the evaluations read whole samples
    with uproot from local paths; a URL given to them would become a path with its ``//`` folded
    (``http:/host/...``) and be reported as missing."""
    if is_remote(text):
        raise argparse.ArgumentTypeError(
            f"{text} is a URL, and this command reads local files; copy it here first"
            " (xrdcp for root://, curl for https://)"
        )
    return Path(text)
