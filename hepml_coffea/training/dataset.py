"""Labelled training data from NanoAOD files, built with a plugin's own feature builder.

Signal objects are the jets of the signal files whose ``FatJet_truthLabel`` (written by
``hepml-coffea generate``) equals ``signal_label``; background objects are every jet of the
background files. Using the plugin's feature builder here is what guarantees that training and
inference see identical inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np

from hepml_coffea.branches import check_required_branches
from hepml_coffea.decorrelation import decorrelation_mass_field
from hepml_coffea.errors import ConfigurationError, LabelledDataError, MissingBranchError
from hepml_coffea.events import open_nanoaod
from hepml_coffea.inputs import check_input_file
from hepml_coffea.pipeline import Prepared, prepare
from hepml_coffea.plugin import Plugin

TRUTH_LABEL_FIELD = "truthLabel"

#: what a dataset takes of each file's objects: their features (training), or their scores
#: (evaluation), one row per object of the plugin's collection
ObjectRows = Callable[[Prepared], np.ndarray]


@dataclass
class LabelledFeatures:
    features: np.ndarray
    labels: np.ndarray
    mass: np.ndarray
    files: list[str]
    #: what the jets are, for the card: e.g. ["signal", "background"] or ["background"]
    trained_on: tuple[str, ...] = ("signal", "background")

    @property
    def signal_seen(self) -> bool:
        return bool(self.labels.any())


def features_of(prepared: Prepared) -> np.ndarray:
    """The default rows of a dataset: the plugin's features, as its model receives them."""
    if isinstance(prepared.features, dict):
        raise ConfigurationError(
            f"plugin {prepared.plugin.name!r} builds named inputs {sorted(prepared.features)};"
            " hepml-coffea trains networks of one input: train it where it was made (e.g."
            " weaver) and ship its model.onnx with a card"
        )
    return prepared.features


def _read(path: Path, plugin: Plugin, signal_label: int | None, rows: ObjectRows):
    """``rows`` of the objects of ``path`` (those with truth label ``signal_label``, all when
    None) through the plugin's pipeline, as attach builds them, and their masses."""
    events = open_nanoaod(path, "virtual")
    check_required_branches(plugin, events)
    values = rows(prepare(plugin, events))
    jets = ak.flatten(events[plugin.collection], axis=1)
    keep = np.ones(len(values), dtype=bool)
    if signal_label is not None:
        if TRUTH_LABEL_FIELD not in jets.fields:
            raise MissingBranchError(
                f"signal file {path} has no {plugin.collection}_{TRUTH_LABEL_FIELD} branch, so its "
                "jets cannot be truth-matched. Use files made by `hepml-coffea generate`."
            )
        keep = ak.to_numpy(jets[TRUTH_LABEL_FIELD]) == signal_label
    mass_field = decorrelation_mass_field(jets.fields)
    return values[keep], ak.to_numpy(jets[mass_field])[keep]


def check_classes(
    signal_files: Sequence[Path], background_files: Sequence[Path], max_per_class: int | None
) -> None:
    """Refuse a file given as both classes (every jet of a background file is background), a
    cap on jets per class below 1, and a file that is missing or not a complete ROOT file
    with an Events tree (before any progress bar is drawn)."""
    for path in (*signal_files, *background_files):
        check_input_file(path)
    shared = {Path(p).resolve() for p in signal_files} & {
        Path(p).resolve() for p in background_files
    }
    if shared:
        raise LabelledDataError(
            f"{sorted(map(str, shared))} given as signal and as background: the background class"
            " takes every jet of its files; give a background sample without signal jets"
        )
    if max_per_class is not None and max_per_class < 1:
        raise LabelledDataError(f"max_per_class={max_per_class}: give a positive number of jets")


def load_labelled_features(
    plugin: Plugin,
    signal_files: Sequence[Path],
    background_files: Sequence[Path],
    *,
    signal_label: int = 1,
    max_per_class: int | None = None,
    seed: int = 0,
    rows: ObjectRows = features_of,
) -> LabelledFeatures:
    """Features (or other ``rows``), labels (1 signal, 0 background) and jet masses, classes
    balanced by truncation; the same files and seed select the same jets for every plugin.

    Every jet of the background files is background, so a file cannot be in both classes."""
    check_classes(signal_files, background_files, max_per_class)
    parts = {1: [], 0: []}
    for label, files in ((1, signal_files), (0, background_files)):
        for path in files:
            parts[label].append(
                _read(Path(path), plugin, signal_label if label == 1 else None, rows)
            )
    rng = np.random.default_rng(seed)
    features, labels, masses = [], [], []
    for label in (1, 0):
        x = np.concatenate([p[0] for p in parts[label]])
        m = np.concatenate([p[1] for p in parts[label]])
        if len(x) == 0:
            kind = "signal (truth-matched)" if label else "background"
            raise LabelledDataError(
                f"no {kind} jets found for plugin {plugin.name!r} in "
                f"{[str(p) for p in (signal_files if label else background_files)]}; "
                "check the input files and --signal-label"
            )
        order = rng.permutation(len(x))[:max_per_class]
        features.append(x[order])
        masses.append(m[order])
        labels.append(np.full(len(order), label, dtype=np.int8))
    return LabelledFeatures(
        features=np.concatenate(features),
        labels=np.concatenate(labels),
        mass=np.concatenate(masses),
        files=[str(p) for p in (*signal_files, *background_files)],
    )


def load_background_features(
    plugin: Plugin,
    files: Sequence[Path],
    *,
    label: int | None = None,
    max_jets: int | None = None,
    seed: int = 0,
    rows: ObjectRows = features_of,
) -> LabelledFeatures:
    """Features and masses of every jet of ``files`` (or of those whose ``FatJet_truthLabel`` is
    ``label``), all labelled 0: the training data of an anomaly score, which sees no signal."""
    parts = [_read(Path(path), plugin, label, rows) for path in files]
    features = np.concatenate([p[0] for p in parts])
    masses = np.concatenate([p[1] for p in parts])
    if len(features) == 0:
        which = "" if label is None else f" with {plugin.collection}_{TRUTH_LABEL_FIELD} == {label}"
        raise LabelledDataError(
            f"no jets{which} found for plugin {plugin.name!r} in {[str(p) for p in files]}; "
            "check the --background files"
        )
    order = np.random.default_rng(seed).permutation(len(features))[:max_jets]
    what = "background" if label is None else f"{TRUTH_LABEL_FIELD} == {label}"
    return LabelledFeatures(
        features=features[order],
        labels=np.zeros(len(order), dtype=np.int8),
        mass=masses[order],
        files=[str(p) for p in files],
        trained_on=(what,),
    )
