"""Installing plugin packages the way a user's ``pip install`` does, into a folder of their own
(tests put that folder on ``PYTHONPATH`` of a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def pip_install(target: Path, *packages: Path) -> Path:
    """``pip install --target target packages`` offline, without dependencies or build isolation
    (everything the packages need is in this interpreter already); returns ``target``."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--no-index", "--target", str(target), *map(str, packages)],
        check=True,
    )
    return target
