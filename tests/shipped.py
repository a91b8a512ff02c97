"""The built-in network taggers that ship a trained artifact, as the registry lists them: a new
shipped tagger is covered by every test that iterates over them without editing a list."""

from hepml_coffea import get_registry

NETWORKS = get_registry().shipped_networks("tagger")
