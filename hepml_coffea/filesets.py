"""Filesets: coffea's ``{dataset: {"files": {path: treename}, "metadata": {...}}}``, or a plain
``{dataset: [path, ...]}`` (tree ``Events``), read, checked and normalised before any executor
starts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hepml_coffea.errors import FilesetError
from hepml_coffea.inputs import is_remote


def load_fileset(path: Path) -> dict[str, dict[str, Any]]:
    """Read a fileset JSON file and normalise it to coffea's dataset_tools format."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise FilesetError(
            f"fileset {path} does not exist; give the path of a fileset JSON file"
        ) from None
    except IsADirectoryError:
        raise FilesetError(
            f"fileset {path} is a folder; give the path of a fileset JSON file"
        ) from None
    except json.JSONDecodeError as exc:
        raise FilesetError(f"fileset {path} is not valid JSON: {exc}") from exc
    return normalise_fileset(raw, source=str(path))


def normalise_fileset(raw: Mapping[str, Any], source: str = "fileset") -> dict[str, dict[str, Any]]:
    if not isinstance(raw, Mapping) or not raw:
        raise FilesetError(
            f"{source} must map dataset names to files, e.g. "
            '{"ttbar": {"files": {"ttbar.root": "Events"}}}'
        )
    fileset = {}
    for dataset, spec in raw.items():
        if isinstance(spec, Mapping) and "files" not in spec:
            raise FilesetError(
                f'{source}: dataset {dataset!r} has no "files" key (it has {sorted(spec)});'
                ' give {"files": {path: tree}} or a list of paths'
            )
        files = spec.get("files") if isinstance(spec, Mapping) else spec
        if isinstance(files, (list, tuple)):
            twice = sorted(str(f) for f, n in Counter(files).items() if n > 1)
            if twice:
                raise FilesetError(f"{source}: dataset {dataset!r} lists {twice} more than once")
            files = {str(f): "Events" for f in files}
        if isinstance(files, str):
            raise FilesetError(
                f"{source}: dataset {dataset!r} gives one string, not a list of files;"
                f' write ["{files}"]'
            )
        if not isinstance(files, Mapping) or not files:
            raise FilesetError(f"{source}: dataset {dataset!r} lists no files")
        missing = [f for f in files if not is_remote(f) and not Path(f).is_file()]
        if missing:
            relative = any(not Path(f).is_absolute() for f in missing)
            where = f" (relative paths are read from the current folder, {Path.cwd()})"
            raise FilesetError(
                f"{source}: dataset {dataset!r} refers to missing file(s) {missing}"
                + (where if relative else "")
            )
        entry = {"files": dict(files)}
        if isinstance(spec, Mapping) and spec.get("metadata"):
            entry["metadata"] = dict(spec["metadata"])
        fileset[dataset] = entry
    return fileset


def runner_fileset(fileset: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """coffea's Runner wants one tree name per dataset and a list of files."""
    converted = {}
    for dataset, spec in fileset.items():
        trees = set(spec["files"].values())
        if len(trees) != 1:
            raise FilesetError(
                f"dataset {dataset!r} mixes tree names {sorted(trees)}; Runner needs one"
            )
        for name in (dataset, *spec["files"]):
            if not name.isascii():
                raise FilesetError(
                    f"{name!r} is not ASCII, and coffea's Runner (iterative and futures executors)"
                    " hashes names as ASCII; rename it"
                )
        converted[dataset] = {
            "files": list(spec["files"]),
            "treename": trees.pop(),
            "metadata": spec.get("metadata", {}),
        }
    return converted


def fileset_paths(fileset: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every file of ``fileset``."""
    return [path for spec in fileset.values() for path in spec["files"]]
