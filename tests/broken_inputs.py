"""Broken inputs as users meet them, made from the real CMS file shipped in hepml_coffea/data/cms."""

from pathlib import Path

import uproot

from hepml_coffea.data import cms_file

#: broken inputs that the up-front check refuses, and the problem the error must state
REFUSED_UP_FRONT = {
    "truncated": "is truncated",
    "empty": "is empty",
    "text": "is not a ROOT file",
    "random_bytes": "is not a ROOT file",
    "wrong_tree": "has no tree 'Evnts' (its trees: Events, LuminosityBlocks, MetaData, ParameterSets, Runs)",
}


def broken_input(kind: str, folder: Path) -> tuple[Path, str]:
    """The file and the fileset's tree name of one broken input, written under ``folder``."""
    original = cms_file("pfnano")
    if kind == "wrong_tree":
        return original, "Evnts"
    data = original.read_bytes()
    path = folder / "ttbar.root"
    if kind == "truncated":  # `head -c` half of the file
        path.write_bytes(data[: len(data) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("ttbar sample: see the analysis note\n")
    elif kind == "random_bytes":
        path.write_bytes(bytes(range(256)) * 20)
    elif kind == "zeroed_basket":  # complete, but a disk error zeroed the FatJet_pt data
        path.write_bytes(_zero_basket(data, original, "FatJet_pt"))
    else:
        raise ValueError(f"unknown broken input {kind!r}")
    return path, "Events"


def _zero_basket(data: bytes, original: Path, branch: str) -> bytes:
    """``data`` with ``branch``'s first basket (its key and its data) zeroed."""
    with uproot.open(original) as file:
        tree_branch = file["Events"][branch]
        start = int(tree_branch.member("fBasketSeek")[0])
        size = int(tree_branch.member("fBasketBytes")[0])
    return data[:start] + bytes(size) + data[start + size :]
