"""The tagger kind: per-object scores (``FatJet.pfn_top``), trained as classifiers of signal
against background and compared on labelled samples (``hepml-coffea evaluate``)."""
