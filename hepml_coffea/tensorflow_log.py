"""TensorFlow's start-up log, held to ``TF_CPP_MIN_LOG_LEVEL``.

TensorFlow 2.21 writes its oneDNN notice (an INFO line) and abseil's "All log messages before
absl::InitializeLog() is called are written to STDERR" warning to stderr while it loads, whatever
``TF_CPP_MIN_LOG_LEVEL`` says (abseil/abseil-cpp#1718); and ``tf.function`` warns about
"retracing" when several models each trace once, which is what loading several taggers does.
:func:`import_keras` loads Keras (and with it TensorFlow) with stderr captured and writes back
what the level lets through: at 1 no INFO lines, at 2 no WARNING lines either (and the Python
``tensorflow`` logger at ERROR, unless its level was set), at 3 no ERROR lines. Unset or 0 keeps
everything. The ``hepml-coffea`` command sets 2 unless the user chose a level
(:func:`quiet_by_default`); worker processes inherit it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from types import ModuleType

LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
#: the level the ``hepml-coffea`` command runs at when the user chose none: errors only
COMMAND_LEVEL = "2"

#: a glog/absl line: severity letter, month and day ("I1203 ..."; "I0000" before absl starts)
_LOG_LINE = re.compile(r"^([IWEF])\d{4} ")
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
_ABSL_PREINIT = "WARNING: All log messages before absl::InitializeLog() is called"
#: a Python warning ("path.py:12: UserWarning: ..."), which no log line continues into
_PYTHON_WARNING = re.compile(r"^\S.*:\d+: \w*Warning: ")


def quiet_by_default() -> None:
    """Run TensorFlow at :data:`COMMAND_LEVEL` unless ``TF_CPP_MIN_LOG_LEVEL`` is set."""
    os.environ.setdefault(LEVEL_ENV, COMMAND_LEVEL)


def min_log_level() -> int:
    """``TF_CPP_MIN_LOG_LEVEL`` as TensorFlow reads it: 0 when unset or not a number."""
    try:
        return int(os.environ.get(LEVEL_ENV, "0"))
    except ValueError:
        return 0


def import_keras() -> ModuleType:
    """Keras, imported with TensorFlow's start-up log filtered to ``TF_CPP_MIN_LOG_LEVEL``."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    level = min_log_level()
    if level >= 2 and logging.getLogger("tensorflow").level == logging.NOTSET:
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if level <= 0:
        import keras

        return keras
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = kept_lines(captured.read().decode(errors="replace"), level)
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()
    return keras


def kept_lines(log: str, level: int) -> str:
    """The lines of ``log`` that ``level`` (1 or more) lets through. A log line below the level
    is dropped with the lines that continue it (up to the next log line or Python warning);
    abseil's one-line pre-initialisation warning is dropped."""
    kept, dropping = [], False
    for line in log.splitlines(keepends=True):
        match = _LOG_LINE.match(line)
        if match:
            dropping = _SEVERITY[match.group(1)] < level
        elif line.startswith(_ABSL_PREINIT):
            dropping = False
            continue
        elif _PYTHON_WARNING.match(line):
            dropping = False
        if not dropping:
            kept.append(line)
    return "".join(kept)
