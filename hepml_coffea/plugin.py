"""The plugin contract: what a tagger, pileup-regression or anomaly-score plugin declares.

A plugin is pure data plus two callables. It says which collection it decorates, which input
branches it reads, which columns it adds, how to turn events into a feature matrix (the *same*
function is used for training and inference) and, optionally, which Keras artifact to run on the
features and how to turn the network output into columns.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hepml_coffea.errors import PluginDefinitionError
from hepml_coffea.kinds import KIND_NAME_PATTERN

if TYPE_CHECKING:
    import awkward as ak

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class PluginKind(enum.StrEnum):
    """The names of hepml-coffea's own kinds (:mod:`hepml_coffea.kinds`); ``Plugin.kind`` takes
    these or the name of any kind a package registers."""

    TAGGER = "tagger"
    PILEUP_REGRESSION = "pileup-regression"
    ANOMALY_SCORE = "anomaly-score"


@dataclass(frozen=True)
class Output:
    """One column a plugin adds to its collection, as ``<plugin>_<name>``.

    ``range`` is the expected value range; processors use it to bin histograms of the column.
    ``collection`` puts the column on another collection than the plugin's (None: the plugin's),
    e.g. a pileup regression's per-candidate ``PFCands.<plugin>_weight`` beside its
    ``FatJet.<plugin>_pt``; the values then run over that collection's objects.
    """

    name: str
    dtype: str = "float32"
    range: tuple[float, float] = (0.0, 1.0)
    doc: str = ""
    collection: str | None = None

    def __post_init__(self) -> None:
        if not _NAME_PATTERN.match(self.name):
            raise PluginDefinitionError(
                f"output name {self.name!r} must be lower-case letters, digits and underscores"
            )
        try:
            np.dtype(self.dtype)
        except TypeError:
            raise PluginDefinitionError(
                f"output {self.name!r}: dtype {self.dtype!r} is not a numpy dtype; use e.g. 'float32'"
            ) from None
        low, high = self.range
        if not low < high:
            raise PluginDefinitionError(f"output {self.name!r}: range {self.range} is empty")


FeatureBuilder = Callable[["ak.Array"], np.ndarray]
"""events (reduced to the plugin's required branches) -> numpy array whose first axis runs over
every object of the collection, flattened over events; see docs/plugins.md."""

Postprocess = Callable[[np.ndarray], Mapping[str, np.ndarray]]
"""network output (or features, for plugins without a network) -> {output name: 1-d array}."""

EventPostprocess = Callable[[np.ndarray, "ak.Array"], Mapping[str, np.ndarray]]
"""(network output, events) -> {output name: 1-d array}: a postprocess with
``postprocess_events`` set, given the same declared view of the events as the feature builder."""

ModelBuilder = Callable[[tuple[int, ...]], Any]
"""input shape (without the batch axis) -> an uncompiled ``keras.Model``; used by training."""


def objects_of(collection: str | None) -> str:
    """``"FatJet objects"``, or ``"events"`` for the events themselves, for messages."""
    return "events" if collection is None else f"{collection} objects"


#: ``Plugin(collection=EVENT_LEVEL)``: a plugin with one value per event, not per object
EVENT_LEVEL = None


@dataclass(frozen=True)
class Plugin:
    """Declaration of one plugin. Plugins are immutable and picklable (they travel to workers).

    :param name: unique lower-case identifier; columns are called ``<name>_<output>``.
    :param kind: the name of a registered kind (:mod:`hepml_coffea.kinds`): ``"tagger"``,
        ``"pileup-regression"``, ``"anomaly-score"`` (the :class:`PluginKind` names) or a kind a
        package adds; stored as a plain string.
    :param collection: the NanoAOD collection decorated, e.g. ``"FatJet"`` or ``"PFCands"``;
        None for an event-level plugin (:data:`EVENT_LEVEL`): one row of features per event,
        and columns on the events themselves, ``events.<name>_<output>``.
    :param required_branches: NanoAOD branch names read by ``features`` (``"FatJet_msoftdrop"``);
        checked before any work is scheduled, the only columns read in dask mode, and the only
        fields ``features`` is given in any mode (:mod:`hepml_coffea.branches`).
    :param outputs: the columns added.
    :param features: feature builder shared by training and inference. A plugin without an
        artifact may return its columns directly, as ``{output name: 1-d array}``, each over
        the objects of its output's collection (how one plugin fills two collections).
    :param feature_names: one name per feature (last axis), used in error messages and checked
        against the model card.
    :param artifact: directory holding ``model.keras`` and ``model.json``; None for plugins
        without a network.
    :param postprocess: maps the network output (or the features) to output columns; by default
        column ``i`` of the network output becomes output ``i``.
    :param postprocess_events: call ``postprocess(raw, events)`` instead, with the events
        reduced to ``required_branches`` as the feature builder sees them: for outputs that need
        more than the network output, e.g. a per-pixel prediction mapped back onto the
        candidates and the jets rebuilt from them (``pumml``). Requires ``postprocess``.
    :param build_model: builds the network for training (optional).
    :param standardise: whether training standardises each feature (last axis) to zero mean and
        unit variance, storing the constants in the model card. Turn it off for inputs scaled by
        construction whose zeros must stay zeros (padded particle clouds, jet images).
    :param description: one line for ``hepml-coffea plugins``.
    :param input_hint: what to do when input files lack the required branches (e.g. which
        command writes them); appended to the missing-branch error.
    :param reads: plugins whose outputs ``features`` reads, beside ``required_branches``: their
        columns are in the events it is given (e.g. ``PFCands.puppi_weight`` for ``pfn@puppi``,
        :mod:`hepml_coffea.composition`); :func:`hepml_coffea.attach` attaches them too, first,
        once per chunk.
    :param package: the distribution that provided the plugin; filled in by the registry.
    """

    name: str
    kind: str
    collection: str | None
    required_branches: tuple[str, ...]
    outputs: tuple[Output, ...]
    features: FeatureBuilder
    feature_names: tuple[str, ...] = ()
    artifact: Path | None = None
    postprocess: Postprocess | EventPostprocess | None = None
    postprocess_events: bool = False
    build_model: ModelBuilder | None = None
    standardise: bool = True
    description: str = ""
    input_hint: str = ""
    reads: tuple[Plugin, ...] = ()
    package: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not _NAME_PATTERN.match(self.name):
            raise PluginDefinitionError(
                f"plugin name {self.name!r} must be lower-case letters, digits and underscores"
            )
        if not isinstance(self.kind, str) or not KIND_NAME_PATTERN.match(self.kind):
            builtin = ", ".join(repr(kind.value) for kind in PluginKind)
            raise PluginDefinitionError(
                f"plugin {self.name!r}: kind {self.kind!r} is not a kind name; use one of "
                f"{builtin} or a kind a package registers"
            )
        object.__setattr__(self, "kind", str(self.kind))
        object.__setattr__(self, "required_branches", tuple(self.required_branches))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "reads", tuple(self.reads))
        if not all(isinstance(dependency, Plugin) for dependency in self.reads):
            raise PluginDefinitionError(
                f"plugin {self.name!r}: reads holds {list(self.reads)!r}; give the Plugin objects"
                " whose outputs it reads"
            )
        if self.artifact is not None:
            object.__setattr__(self, "artifact", Path(self.artifact))
        if not self.outputs:
            raise PluginDefinitionError(f"plugin {self.name!r} declares no outputs")
        names = [output.name for output in self.outputs]
        if len(set(names)) != len(names):
            raise PluginDefinitionError(f"plugin {self.name!r} declares duplicate outputs {names}")
        if self.postprocess_events and self.postprocess is None:
            raise PluginDefinitionError(
                f"plugin {self.name!r} sets postprocess_events but has no postprocess; give it "
                "postprocess=f with f(raw, events) -> {output name: values}, or drop the flag"
            )
        if not self.required_branches:
            raise PluginDefinitionError(
                f"plugin {self.name!r} declares no required branches; list every NanoAOD branch "
                "its feature builder reads so dask mode loads them"
            )

    def output_collection(self, output: Output) -> str | None:
        """The collection ``output``'s column is added to; None for the events themselves."""
        return output.collection or self.collection

    def outputs_on(self, collection: str | None) -> tuple[Output, ...]:
        """The outputs whose columns go to ``collection`` (None: the events themselves)."""
        return tuple(o for o in self.outputs if self.output_collection(o) == collection)

    @property
    def objects(self) -> str:
        """What one row of features is, for messages: ``"FatJet objects"`` or ``"events"``."""
        return objects_of(self.collection)

    @property
    def output_collections(self) -> tuple[str | None, ...]:
        """Every collection the plugin adds columns to, its own first."""
        found = [self.collection]
        for output in self.outputs:
            if self.output_collection(output) not in found:
                found.append(self.output_collection(output))
        return tuple(found)

    def column_name(self, output: Output | str) -> str:
        """Name of the column ``output`` adds to the collection."""
        return f"{self.name}_{output if isinstance(output, str) else output.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(self.column_name(output) for output in self.outputs)
