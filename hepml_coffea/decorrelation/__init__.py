"""Mass-sculpting figures of merit computed from ``hist`` histograms: R50, 1/JSD50, dCor², plots.

DisCo (Kasieczka & Shih, arXiv:2001.05310) rates a tagger by two numbers at the score cut that
keeps 50% of the signal: the background rejection R50 = 1/eps_B, and 1/JSD50, the inverse
Jensen-Shannon divergence between the background mass distributions of the jets that pass and
that fail the cut (large = little sculpting). Everything here reads histograms, so it works on
output accumulated over any number of chunks or Dask workers::

    h = output["hists"]["substructure_dnn_top"]
    signal, background = h[{"dataset": "ttbar"}], h[{"dataset": "qcd"}]
    # or, from a histogram with a truth-label axis: split_by_label(h)
    r50(signal, background), inv_jsd50(signal, background), distance_correlation(background)

Conventions
-----------
* Inputs are two-dimensional ``hist.Hist`` objects with exactly the axes ``mass`` and ``score``
  (either order, any storage; ``.values()`` is read, i.e. the sum of weights). Project or sum the
  other axes first, e.g. ``h[{"dataset": sum}]``, or use :func:`split_by_label`.
* A jet passes a cut when ``score >= threshold``. Binned scores only allow cuts on bin edges of
  the score axis; :func:`working_point` picks the edge whose signal efficiency is nearest the
  requested one, so the achieved efficiency is off by at most about one bin's content.
* Efficiencies count every entry, flow bins included (a sigmoid score of exactly 1.0 lies in the
  overflow of ``Regular(n, 0, 1)`` and passes every cut), so they equal the fractions counted on
  the unbinned jets. Mass shapes (JSD, sculpting plots) and dCor² use the in-range bins only.
* Logarithms are natural: JSD is in nats unless ``base`` says otherwise (JSD in bits is
  JSD in nats / ln 2), and lies in [0, ln 2].

Modules
-------
:mod:`~.histograms` slices and fills the (mass, score) histograms; :mod:`~.metrics` computes
the figures of merit; :mod:`~.scores` measures unbinned scores through the same histograms;
:mod:`~.target` defines the decorrelation target; :mod:`~.plots` draws; :mod:`~.report`
tabulates many scores; :mod:`~.mass` names the jet mass every decorrelation uses.
"""

from hepml_coffea.decorrelation.histograms import (
    MASS,
    SCORE,
    mass_score_hists,
    select_classes,
    split_by_label,
)
from hepml_coffea.decorrelation.mass import decorrelation_mass_field
from hepml_coffea.decorrelation.metrics import (
    WorkingPoint,
    distance_correlation,
    distance_correlation_arrays,
    inv_jsd,
    inv_jsd50,
    inv_jsd_ceiling,
    inv_jsd_ceiling_curve,
    jensen_shannon,
    r50,
    rejection,
    working_point,
)
from hepml_coffea.decorrelation.plots import (
    SCULPTING_EFFICIENCIES,
    draw_chosen,
    rejection_vs_inv_jsd_plot,
    sculpting_plot,
    shade_target,
    target_plane,
)
from hepml_coffea.decorrelation.report import (
    DecorrelationReport,
    decorrelation_report,
    report_markdown,
)
from hepml_coffea.decorrelation.scores import (
    bootstrap_std,
    ceiling_curve,
    measure,
    r50_inv_jsd50,
    resampled_rows,
    top_window_excess,
    working_points,
)
from hepml_coffea.decorrelation.target import (
    INV_JSD50_GAIN,
    REJECTION_LOSS,
    TARGET_LABEL,
    target_fraction,
)

__all__ = [
    "INV_JSD50_GAIN",
    "MASS",
    "REJECTION_LOSS",
    "SCORE",
    "SCULPTING_EFFICIENCIES",
    "TARGET_LABEL",
    "DecorrelationReport",
    "WorkingPoint",
    "bootstrap_std",
    "ceiling_curve",
    "decorrelation_mass_field",
    "decorrelation_report",
    "distance_correlation",
    "draw_chosen",
    "distance_correlation_arrays",
    "inv_jsd",
    "inv_jsd50",
    "inv_jsd_ceiling",
    "inv_jsd_ceiling_curve",
    "jensen_shannon",
    "mass_score_hists",
    "measure",
    "r50",
    "r50_inv_jsd50",
    "rejection",
    "rejection_vs_inv_jsd_plot",
    "report_markdown",
    "resampled_rows",
    "sculpting_plot",
    "select_classes",
    "shade_target",
    "split_by_label",
    "target_fraction",
    "target_plane",
    "top_window_excess",
    "working_point",
    "working_points",
]
