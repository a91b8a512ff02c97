"""``TaggingProcessor``: attach plugin columns and histogram every output, whatever it lives on.

The output has one shape whatever runs it::

    {"hists": {"<plugin>_<output>": Hist(dataset, mass, score),
               "<collection>.<plugin>_<output>": Hist(dataset, value),
               "events.<plugin>_<output>": Hist(dataset, value)},
     "cutflow": {dataset: {step: n}}}

An output on the processor's collection (a tagger's ``FatJet.pfn_top``, a pileup regression's
``FatJet.puppi_msoftdrop``) is histogrammed against the jet mass for the selected jets; an output
on another collection (``PFCands.puppi_weight``) gets a histogram of its own over every object of
that collection, keyed ``"<collection>.<column>"``, and an event-level output (``events.<column>``)
one over the events, keyed ``"events.<column>"``.

With ``truth_label="truthLabel"`` (generated samples) the histograms get a ``label`` axis too,
``Hist(dataset, label, mass, score)``, which ``hepml_coffea.decorrelation.split_by_label`` reads.

``processor.Runner`` accumulates it across chunks; ``apply_to_fileset`` returns one such output
per dataset, which ``coffea.processor.accumulate(outputs.values())`` folds into the same shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import awkward as ak
import hist
from coffea import processor

from hepml_coffea.columns import attach, is_dask, resolve_plugins
from hepml_coffea.decorrelation import decorrelation_mass_field
from hepml_coffea.errors import ConfigurationError, MissingBranchError
from hepml_coffea.plugin import Plugin

CUTFLOW_STEPS = ("events", "events with a jet", "jets", "selected jets")


def _weighted_hist(dask: bool, axes: tuple) -> hist.Hist:
    """A histogram of ``axes`` with weighted storage; a ``hist.dask`` one for dask-awkward input."""
    if dask:
        import hist.dask as dask_hist

        return dask_hist.Hist(*axes, storage=hist.storage.Weight())
    return hist.Hist(*axes, storage=hist.storage.Weight())


class TaggingProcessor(processor.ProcessorABC):
    """Attach ``plugins`` and fill, per score column, a (dataset, mass, score) histogram.

    :param plugins: plugin names or objects; all but the event-level ones must decorate the
        same collection (``FatJet`` when there are only event-level plugins).
    :param mass_field: jet-mass field on the x axis; by default the one training decorrelates from,
        :func:`hepml_coffea.decorrelation.decorrelation_mass_field` (``msoftdrop`` when the
        collection has it, else ``mass``).
    :param pt_min: jets below this pT [GeV] are not histogrammed.
    :param eta_max: jets above this |eta| are not histogrammed.
    :param mass_bins: (bins, low, high) of the mass axis [GeV].
    :param score_bins: number of bins of each score axis; its range comes from the plugin.
    :param truth_label: field of the collection holding a truth label (``truthLabel`` in files
        from ``hepml-coffea generate``); adds a ``label`` axis to every histogram.
    """

    def __init__(
        self,
        plugins: Iterable[str | Plugin] | str = ("cutbased",),
        *,
        mass_field: str | None = None,
        pt_min: float = 200.0,
        eta_max: float = 2.4,
        mass_bins: tuple[int, float, float] = (60, 0.0, 300.0),
        score_bins: int = 50,
        truth_label: str | None = None,
    ):
        self.plugins = resolve_plugins(plugins)
        if not self.plugins:
            raise ConfigurationError(
                "TaggingProcessor got no plugins; name at least one, e.g. cutbased"
                " (`hepml-coffea plugins` lists them)"
            )
        collections = {p.collection for p in self.plugins if p.collection is not None}
        if len(collections) > 1:
            raise ConfigurationError(
                f"TaggingProcessor histograms one collection; the plugins decorate {sorted(collections)}."
                " Run one processor per collection."
            )
        (self.collection,) = collections or {"FatJet"}
        self.mass_field = mass_field
        self.pt_min = pt_min
        self.eta_max = eta_max
        self.mass_bins = mass_bins
        self.score_bins = score_bins
        self.truth_label = truth_label

    def _new_hist(self, dask: bool, label: str, score_range: tuple[float, float], mass_field: str):
        label_axis = (
            ()
            if self.truth_label is None
            else (
                hist.axis.IntCategory(
                    [], growth=True, name="label", label=f"{self.collection} {self.truth_label}"
                ),
            )
        )
        axes = (
            hist.axis.StrCategory([], growth=True, name="dataset", label="Dataset"),
            *label_axis,
            hist.axis.Regular(
                *self.mass_bins, name="mass", label=f"{self.collection} {mass_field} [GeV]"
            ),
            hist.axis.Regular(self.score_bins, *score_range, name="score", label=label),
        )
        return _weighted_hist(dask, axes)

    def _value_hist(self, dask: bool, label: str, value_range: tuple[float, float]):
        """(dataset, value): an output on another collection than the processor's."""
        axes = (
            hist.axis.StrCategory([], growth=True, name="dataset", label="Dataset"),
            hist.axis.Regular(self.score_bins, *value_range, name="value", label=label),
        )
        return _weighted_hist(dask, axes)

    def _check_integer_label(self, labels, dataset: str) -> None:
        """The label axis is an integer category: a float field would fail deep inside hist."""
        element = labels.type  # events x jets x the field's type, in every mode
        while hasattr(element, "content"):
            element = element.content
        primitive = getattr(element, "primitive", "")
        if not primitive.startswith(("int", "uint", "bool")):
            raise ConfigurationError(
                f"TaggingProcessor(truth_label={self.truth_label!r}): {self.collection}."
                f"{self.truth_label} in dataset {dataset!r} holds {primitive or element}, not"
                " integers; give an integer label field (truthLabel in generated samples)"
            )

    def process(self, events) -> dict[str, Any]:
        dataset = events.metadata.get("dataset", "unknown")
        dask = is_dask(events)
        events = attach(events, self.plugins)
        jets = events[self.collection]
        if self.truth_label is not None and self.truth_label not in jets.fields:
            raise MissingBranchError(
                f"TaggingProcessor(truth_label={self.truth_label!r}): {self.collection} in dataset "
                f"{dataset!r} has no {self.truth_label!r} field; truth labels exist only in "
                "generated samples (`hepml-coffea generate`). Drop truth_label for data."
            )
        if self.truth_label is not None:
            self._check_integer_label(jets[self.truth_label], dataset)
        selected = jets[(jets.pt > self.pt_min) & (abs(jets.eta) < self.eta_max)]
        weight = (
            events.genWeight
            if "genWeight" in events.fields
            else ak.ones_like(events.run, dtype="float64")
        )
        jet_weight = ak.flatten(ak.broadcast_arrays(weight, selected.pt)[0])
        mass_field = self.mass_field or decorrelation_mass_field(jets.fields)
        mass = ak.flatten(selected[mass_field])
        labels = (
            {} if self.truth_label is None else {"label": ak.flatten(selected[self.truth_label])}
        )

        hists = {}
        for plugin in self.plugins:
            for output in plugin.outputs:
                column = plugin.column_name(output)
                target = plugin.output_collection(output)
                if target is None:  # an event-level output: one value per event
                    histogram = self._value_hist(dask, column, output.range)
                    histogram.fill(dataset=dataset, value=events[column], weight=weight)
                    hists[f"events.{column}"] = histogram
                    continue
                if target != self.collection:
                    objects = events[target][column]
                    histogram = self._value_hist(dask, f"{target} {column}", output.range)
                    histogram.fill(
                        dataset=dataset,
                        value=ak.flatten(objects),
                        weight=ak.flatten(ak.broadcast_arrays(weight, objects)[0]),
                    )
                    hists[f"{target}.{column}"] = histogram
                    continue
                histogram = self._new_hist(
                    dask, f"{plugin.name} {output.name}", output.range, mass_field
                )
                histogram.fill(
                    dataset=dataset,
                    mass=mass,
                    score=ak.flatten(selected[column]),
                    weight=jet_weight,
                    **labels,
                )
                hists[column] = histogram
        counts = (
            ak.num(events, axis=0),
            ak.sum(ak.num(jets, axis=1) > 0),
            ak.sum(ak.num(jets, axis=1)),
            ak.sum(ak.num(selected, axis=1)),
        )
        if not dask:
            counts = tuple(int(n) for n in counts)
        return {
            "hists": hists,
            "cutflow": {dataset: dict(zip(CUTFLOW_STEPS, counts, strict=False))},
        }

    def postprocess(self, accumulator):
        return accumulator
