"""Checking input ROOT files before any executor reads them.

A broken local file (empty, truncated, not ROOT, without the fileset's tree) fails the same way
on every read, so it is refused here, in the client, with one error naming the file; coffea's
executors would otherwise retry it and end in a raw traceback. The checks read the file's header
and its top directory only, so they cost well under a millisecond a local file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uproot

from hepml_coffea.errors import InputFileError, exception_chain

ROOT_MAGIC = b"root"
TREE_CLASSES = ("TTree", "ROOT::RNTuple")
REMAKE = "re-copy or regenerate it"


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URL (``root://``, ``https://``) rather than a local file."""
    return "://" in path


def one_line(kind: str, message: str, limit: int = 200) -> str:
    """An error as ``kind: message`` on one line of at most ``limit`` characters."""
    text = " ".join(f"{kind}: {message}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_input_file(
    path: str | os.PathLike,
    treename: str = "Events",
    tree_fix: str = "fix the tree name in the fileset",
) -> None:
    """Raise :class:`InputFileError` unless ``path`` is a complete ROOT file with tree ``treename``.

    A file is complete when it is at least as long as its header's ``fEND`` (the end of the last
    record ROOT wrote): a copy cut short can still open, when its directory and streamers lie
    before the cut, and fail only when a basket past the cut is read. ``tree_fix`` is the advice
    given when the tree is missing.
    """
    if not os.path.isfile(path):
        raise InputFileError(path, "does not exist or is not a file; check the path")
    size = os.path.getsize(path)
    if size == 0:
        raise InputFileError(path, f"is empty (0 bytes); {REMAKE}")
    with open(path, "rb") as stream:
        magic = stream.read(len(ROOT_MAGIC))
    if magic != ROOT_MAGIC:
        raise InputFileError(
            path, f"is not a ROOT file (it starts with {magic!r}, not {ROOT_MAGIC!r}); {REMAKE}"
        )
    try:
        with uproot.reading.ReadOnlyFile(path) as file:
            if size < file.fEND:
                raise InputFileError(
                    path,
                    f"is truncated ({size} of the {file.fEND} bytes its header records); {REMAKE}",
                )
            directory = file.root_directory
            try:
                classname = directory.classname_of(treename)
            except uproot.KeyInFileError:
                trees = ", ".join(
                    sorted(directory.keys(cycle=False, filter_classname=list(TREE_CLASSES)))
                )
                raise InputFileError(
                    path, f"has no tree {treename!r} (its trees: {trees or 'none'}); {tree_fix}"
                ) from None
    except (OSError, ValueError, uproot.deserialization.DeserializationError) as exc:
        reason = one_line(type(exc).__name__, str(exc))
        raise InputFileError(path, f"is not a readable ROOT file ({reason}); {REMAKE}") from exc
    if classname not in TREE_CLASSES:
        raise InputFileError(path, f"holds {treename!r} as a {classname}, not a TTree; {tree_fix}")


def check_fileset(fileset: Mapping[str, Mapping[str, Any]]) -> None:
    """:func:`check_input_file` on every local file of a normalised fileset (remote files are
    opened by the executors, which retry network errors)."""
    for spec in fileset.values():
        for path, treename in spec["files"].items():
            if not is_remote(path):
                check_input_file(Path(path), treename)
            elif path.startswith("root://") and not _can_read_xrootd():
                raise InputFileError(
                    path,
                    "is an XRootD URL, and uproot reads those with fsspec-xrootd, which is not"
                    " installed; pip install fsspec-xrootd",
                )


def _can_read_xrootd() -> bool:
    from importlib.util import find_spec

    return find_spec("fsspec_xrootd") is not None


def branches_not_filled_in(files: Mapping[str, str]) -> tuple[str, list[str]] | None:
    """The first local file of one dataset that lacks branches other files of it have, and
    those of the branches that are not flat bools, if any; remote files are not opened.

    coffea's ``preprocess`` merges a dataset's files into one form for a dask run, and can fill
    in only missing flat bool branches (triggers, filters: None in the events of a file without them).
    """
    types = {}
    for path, treename in files.items():
        if not is_remote(path):
            with uproot.open(path) as file:
                types[path] = {b.name: b.typename for b in file[treename].branches}
    every = {name: kind for branches in types.values() for name, kind in branches.items()}
    for path, branches in types.items():
        missing = sorted(name for name, kind in every.items() if name not in branches)
        not_bool = [name for name in missing if every[name] != "bool"]
        if not_bool:
            return path, not_bool
    return None


def remote_read_error(exc: BaseException, paths: Sequence[str]) -> InputFileError | None:
    """A failure to reach or read one of the remote ``paths`` (a name that does not resolve, a
    refused connection, a timeout, a missing file), found in ``exc`` or its causes, as one
    line naming the URL; None when ``exc`` is no such failure or no path is remote.

    The URL named is the one the error message contains, else the first on the host it names,
    else the only remote path; with several and no clue the error says how many there are.
    """
    remote = [path for path in paths if is_remote(path)]
    failure = next((e for e in exception_chain(exc) if _is_network_error(e)), None)
    if not remote or failure is None:
        return None
    message = str(failure)
    reason = one_line(type(failure).__name__, message)
    hosts = {path: urlsplit(path).hostname for path in remote}
    named = [path for path in remote if path in message] or [
        path for path, host in hosts.items() if host and host in message
    ]
    if named or len(remote) == 1:
        path = (named or remote)[0]
    else:
        path = f"one of the {len(remote)} remote files ({remote[0]}, ...)"
    proxy = ", and your grid proxy (voms-proxy-info)" if path.startswith("root://") else ""
    return InputFileError(
        path, f"could not be read ({reason}); check the URL and the network{proxy}"
    )


def _is_network_error(exc: BaseException) -> bool:
    """An OSError (socket errors, timeouts, fsspec's FileNotFoundError for a URL) or one of
    aiohttp's client errors (an HTTP status among them), which are not all OSErrors."""
    return isinstance(exc, OSError) or type(exc).__module__.startswith("aiohttp")
