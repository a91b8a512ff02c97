"""Exceptions raised by sample generation."""

from __future__ import annotations


class SampleConfigError(ValueError):
    """A sample request that cannot be generated; the message says what to change.

    Raised by :func:`hepml_coffea.samples.generate_sample` before any event is generated.
    """
