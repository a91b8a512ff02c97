"""Exceptions raised by hepml-coffea.

Every message names the plugin and the column or file involved and says how to fix the problem,
so that a failure on a Dask worker hours into a job is still actionable from the traceback alone.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator


class HepmlCoffeaError(Exception):
    """Base class of every error raised on purpose by hepml-coffea."""


class PluginDefinitionError(HepmlCoffeaError):
    """A plugin declaration is inconsistent (bad name, no outputs, duplicate outputs, ...)."""


class UnknownPluginError(HepmlCoffeaError, KeyError):
    """A plugin name was requested that no registered package provides."""

    def __str__(self) -> str:  # KeyError would otherwise print the message with quotes
        return str(self.args[0])


class MissingBranchError(HepmlCoffeaError):
    """The input events lack a branch that a plugin declared as required."""


class InvalidInputError(HepmlCoffeaError):
    """A plugin's inputs contain NaN or infinite values, or have the wrong shape."""


class ArtifactError(HepmlCoffeaError):
    """A model artifact is missing, corrupt, or does not match the plugin that uses it."""


class ConfigurationError(HepmlCoffeaError):
    """A setting has an invalid value: an environment variable, a ``configure()`` argument or an option."""


class FilesetError(HepmlCoffeaError):
    """A fileset is missing, not valid JSON, lists no files, or refers to files that do not exist."""


class LabelledDataError(HepmlCoffeaError):
    """Labelled samples cannot be used for training or evaluation (no jets of a class, jets differ)."""


class InputFileError(HepmlCoffeaError):
    """An input file cannot be read: empty, truncated, not ROOT, a damaged basket, or no such tree."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path} {problem}")
        self.path, self.problem = str(path), problem

    def __reduce__(self):  # so that it pickles across processes despite its two arguments
        return type(self), (self.path, self.problem)

    def __repr__(self) -> str:  # the arguments, so that our_error can rebuild it from its repr
        return f"{type(self).__name__}({self.path!r}, {self.problem!r})"


#: how coffea's Runner wraps the error of a chunk ("Failed processing file: ... The error was:
#: {error!r}."): a futures worker's error comes back to the client in this form alone, since
#: pickling the wrapping Exception drops its cause
_WRAPPED_REPR = re.compile(r"The error was: (\w+)(\(.*\))\.$", re.DOTALL)


def our_error(exc: BaseException | None) -> HepmlCoffeaError | None:
    """The hepml-coffea error behind ``exc``, if any: coffea's executors wrap worker errors in
    a plain Exception whose cause (or context) is ours, or, from a futures worker, whose message
    ends with our error's repr."""
    for link in exception_chain(exc):
        if isinstance(link, HepmlCoffeaError):
            return link
        rebuilt = _from_wrapped_repr(str(link))
        if rebuilt is not None:
            return rebuilt
    return None


def exception_chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc``, then its cause (or, without one, its context), and so on."""
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def _from_wrapped_repr(message: str) -> HepmlCoffeaError | None:
    match = _WRAPPED_REPR.search(message)
    kind = match and _error_classes(HepmlCoffeaError).get(match.group(1))
    if kind is None:
        return None
    try:
        arguments = ast.literal_eval(match.group(2)[:-1] + ",)")  # a tuple, also of one
        return kind(*arguments)
    except (ValueError, SyntaxError, TypeError):
        return None


def _error_classes(base: type[HepmlCoffeaError]) -> dict[str, type[HepmlCoffeaError]]:
    found = {base.__name__: base}
    for subclass in base.__subclasses__():
        found |= _error_classes(subclass)
    return found


class HistogramError(HepmlCoffeaError, ValueError):
    """Histograms or score arrays given to the decorrelation tools do not fit the request (axes,
    datasets, labels, binning, empty or negative contents). Also a ``ValueError``, as before."""
