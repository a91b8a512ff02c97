"""An example of a hepml-coffea plugin published as its own pip package."""
