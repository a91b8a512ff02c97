"""Opening one NanoAOD file as coffea NanoEvents, the way hepml-coffea reads its inputs.

Every reader of a single file (training, evaluation, the demo, studies, tests) goes through
:func:`open_nanoaod`, so that all of them check the file first, use the PF-candidate schema and
carry the file name in the metadata, which error messages quote.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from hepml_coffea.inputs import check_input_file

MODES = ("eager", "virtual", "dask")


def open_nanoaod(
    path: str | os.PathLike,
    mode: str = "virtual",
    *,
    dataset: str | None = None,
    schema: Any = None,
    treename: str = "Events",
    check: bool = True,
    entry_stop: int | None = None,
    quiet: bool = False,
):
    """NanoEvents of ``path``'s ``treename`` tree with ``PFNanoAODSchema`` (or ``schema``).

    :param mode: coffea's ``"eager"``, ``"virtual"`` (columns read when first touched) or
        ``"dask"`` (a lazy dask-awkward array; call ``.compute()`` on results).
    :param dataset: stored as ``events.metadata["dataset"]`` (processors group by it).
    :param check: check the file with :func:`~hepml_coffea.inputs.check_input_file` first, so an
        empty, truncated or non-ROOT file fails with one line naming it; remote files are not
        checked.
    :param entry_stop: read only the first ``entry_stop`` events.
    :param quiet: silence coffea's ``RuntimeWarning`` about NanoAOD cross-references whose
        target branches the file lacks (generated samples write only what plugins read).
    :raises InputFileError: for a local file that is missing, damaged or lacks the tree.
    :raises ConfigurationError: for an unknown ``mode``.
    """
    from coffea.nanoevents import NanoEventsFactory, PFNanoAODSchema

    from hepml_coffea.errors import ConfigurationError
    from hepml_coffea.inputs import is_remote

    if mode not in MODES:
        raise ConfigurationError(f"NanoEvents mode {mode!r} is not one of {', '.join(MODES)}")
    if check and not is_remote(str(path)):
        check_input_file(path, treename, tree_fix=f"the events are read from the {treename} tree")
    metadata = {"filename": str(path)}
    if dataset is not None:
        metadata["dataset"] = dataset
    source: dict = {str(path): treename}
    if mode == "dask" and entry_stop is not None:
        # coffea's dask mode ignores entry_stop (all entries are read, silently): one step instead
        source = {str(path): {"object_path": treename, "steps": [[0, entry_stop]]}}
        entry_stop = None
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", RuntimeWarning)
        return NanoEventsFactory.from_root(
            source,
            schemaclass=schema or PFNanoAODSchema,
            mode=mode,
            metadata=metadata,
            entry_stop=entry_stop,
        ).events()
