"""Computing a feature once when several plugins need it from the same events.

Four built-in taggers read the same particle cloud and every constituent tagger follows the same
PF-candidate link table. :func:`attach` evaluates all its plugins inside one
:func:`shared_features` scope, and builders decorated with :func:`shared` compute their result
once per events object (and arguments) within that scope. Outside a scope a shared builder is
an ordinary function call, so training and one-off use are unaffected.

Third-party feature builders can use the decorator too; it keys on the events object's
identity, so a builder must not depend on anything but its arguments.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

#: attrs key under which a plugin's declared view of events keeps the events it was cut from
PARENT_ATTR = "@hepml_coffea_parent"

Builder = TypeVar("Builder", bound=Callable[..., Any])

_cache: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "hepml_coffea_shared_features", default=None
)


@contextmanager
def shared_features() -> Iterator[None]:
    """Within this block, every :func:`shared` builder runs at most once per events and arguments.

    Scopes are per thread (and per dask task), and nested scopes start empty.
    """
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def _freeze(value: Any) -> Any:
    """Make cached arrays read-only (also inside tuples and dataclasses), so one plugin cannot
    alter what the next one receives."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, tuple):
        for item in value:
            _freeze(item)
    elif dataclasses.is_dataclass(value):
        for item in vars(value).values():
            _freeze(item)
    return value


def _identity(source: Any) -> Any:
    """What a cached result belongs to: the events a plugin's declared view was cut from
    (:func:`hepml_coffea.branches.declared_view`), so plugins declaring different branches still
    share what they build from the same events; otherwise ``source`` itself."""
    attrs = getattr(source, "attrs", None)
    return attrs.get(PARENT_ATTR, source) if attrs else source


def shared(builder: Builder) -> Builder:
    """Decorator: inside :func:`shared_features`, reuse ``builder(source, ...)`` for the same
    ``source`` object (events, or an intermediate such as constituents) and the same other arguments.

    Arrays it returns are read-only within a scope; a caller that needs to modify them must copy.
    """

    @functools.wraps(builder)
    def wrapper(source, *args, **kwargs):
        cache = _cache.get()
        if cache is None:
            return builder(source, *args, **kwargs)
        identity = _identity(source)
        key = (builder, id(identity), args, tuple(sorted(kwargs.items())))
        entry = cache.get(key)
        if entry is None:
            # keep ``identity`` referenced so its id cannot be reused by another object in the scope
            entry = cache[key] = (identity, _freeze(builder(source, *args, **kwargs)))
        return entry[1]

    return wrapper  # type: ignore[return-value]
