"""Sample generation: Pythia 8 + fastjet + a simple detector + pileup -> PFNano-like NanoAOD.

Public API::

    generate_sample(process, n_events, output, *, pileup=0.0, seed=..., jobs=1,
                    pt_min=500., pt_max=700., detector="simple", progress=True) -> Path
    cached_sample(process, n_events, *, seed, pileup=0.0, ...) -> Path
"""

from .cache import cache_dir, cached_sample, sample_name
from .detector import DETECTORS
from .fatjets import LABEL_QCD, LABEL_TOP, LABEL_W, LABEL_Z
from .generate import SampleConfig, generate_sample
from .generation_errors import PythiaError, SampleConfigError
from .processes import PROCESSES

__all__ = [
    "DETECTORS",
    "LABEL_QCD",
    "LABEL_TOP",
    "LABEL_W",
    "LABEL_Z",
    "PROCESSES",
    "SampleConfig",
    "PythiaError",
    "SampleConfigError",
    "cache_dir",
    "cached_sample",
    "generate_sample",
    "sample_name",
]
