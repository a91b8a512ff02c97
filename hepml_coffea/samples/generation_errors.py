"""Exceptions raised by sample generation."""

from __future__ import annotations

from hepml_coffea.errors import HepmlCoffeaError


class SampleConfigError(HepmlCoffeaError):
    """A sample request that cannot be generated; the message says what to change.

    Raised by :func:`hepml_coffea.samples.generate_sample` before any event is generated.
    """


class PythiaError(HepmlCoffeaError):
    """Pythia refused a setting, failed to initialise or stopped producing events: the
    process settings (``hepml_coffea.samples.processes``) or the pythia8mc installation."""
