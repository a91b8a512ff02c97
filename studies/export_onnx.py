"""Export the shipped Keras artifacts to ONNX (``model.onnx`` + the card's ``onnx`` entry).

    python studies/export_onnx.py [substructure_dnn pfn ...]   # default: every shipped network

Each export is checked against Keras by :func:`hepml_coffea.export.export_onnx` (tolerance 1e-5).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hepml_coffea.export import export_onnx

ARTIFACTS = Path(__file__).resolve().parents[1] / "plugins" / "artifacts"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="artifact folders in plugins/artifacts")
    names = parser.parse_args().names
    for name in names or sorted(p.name for p in ARTIFACTS.iterdir() if p.is_dir()):
        card = export_onnx(ARTIFACTS / name, plugin_name=name)
        print(
            f"{name}: model.onnx sha256 {card.onnx['sha256'][:12]}, max |ONNX - Keras| "
            f"{card.onnx['max_abs_diff']:.2g}"
        )


if __name__ == "__main__":
    main()
