"""One purpose per folder: ``benchmarks/`` measures speed and memory, ``studies/`` holds the
recipes that make shipped artifacts and docs, and nothing names a script that is not there."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
STUDIES = REPO / "studies"

# the recipes behind shipped artifacts and docs, and their shared helper
STUDY_FILES = {
    "tagger_zoo.sh",
    "mass_decorrelation.py",
    "decorrelation_frontier.py",
    "decorrelation_combinations.py",
    "select_decorrelated.py",
    "select_mass_profile.py",
    "sanity_samples.py",
    "zoo.py",
    "README.md",
}

# `benchmarks/x` or `studies/x` at the start of a path (not `docs/benchmarks.md`, not `a/studies/x`)
REFERENCE = re.compile(r"(?<![\w./~-])((?:benchmarks|studies)/[\w.-]*\w)")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def _is_benchmark_file(name: str) -> bool:
    return (name.startswith("bench_") and name.endswith(".py")) or name in {
        "timing.py",  # their timing helper
        "coffea_idiom.py",  # bench_backends' baseline: inputs built as a coffea user writes them
        "README.md",
    }


def test_benchmarks_holds_only_speed_and_memory_benchmarks():
    others = [p.name for p in _files(BENCHMARKS) if not _is_benchmark_file(p.name)]
    assert not others, (
        f"benchmarks/ is for speed and memory only (bench_*.py and their helpers); move {others} to studies/"
    )


def test_studies_hold_the_recipes():
    present = {p.name for p in _files(STUDIES)}
    assert STUDY_FILES <= present, f"missing from studies/: {sorted(STUDY_FILES - present)}"
    benchmarks = [name for name in present if name.startswith("bench_")]
    assert not benchmarks, f"speed benchmarks belong in benchmarks/: {benchmarks}"


def test_a_study_does_not_import_a_benchmark():
    benchmark_modules = {p.stem for p in BENCHMARKS.glob("*.py")}
    for script in STUDIES.glob("*.py"):
        imported = set(
            re.findall(r"^\s*(?:from|import)\s+(\w+)", script.read_text(), flags=re.MULTILINE)
        )
        assert not imported & benchmark_modules, (
            f"{script.name} imports {sorted(imported & benchmark_modules)}"
        )


def _referring_files() -> list[Path]:
    docs = REPO / "docs"
    files = [
        REPO / "README.md",
        *docs.rglob("*.md"),
        *docs.rglob("*.json"),
        *(REPO / "notebooks").glob("*.ipynb"),
        *(REPO / "plugins" / "artifacts").glob("*/model.json"),
        *_files(BENCHMARKS),
        *_files(STUDIES),
    ]
    return [p for p in files if p.suffix in {".md", ".json", ".ipynb", ".py", ".sh"}]


def test_every_named_benchmark_or_study_exists():
    stale = []
    for path in _referring_files():
        for reference in REFERENCE.findall(path.read_text(errors="replace")):
            if not (REPO / reference).exists():
                stale.append(f"{path.relative_to(REPO)}: {reference}")
    assert not stale, "references to files that are not in the repository:\n" + "\n".join(stale)


def test_the_reference_check_sees_the_model_cards():
    # guards the check above against a pattern that silently matches nothing
    cards = " ".join(p.read_text() for p in (REPO / "plugins" / "artifacts").glob("*/model.json"))
    assert "studies/select_mass_profile.py" in REFERENCE.findall(cards)


def test_scripts_outside_tests_are_not_collected():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert config["testpaths"] == ["tests"]
    for folder in (BENCHMARKS, STUDIES):
        named_like_tests = [
            p.name
            for p in folder.glob("*.py")
            if p.name.startswith("test_") or p.stem.endswith("_test")
        ]
        assert not named_like_tests, f"{folder.name}/ files named like tests: {named_like_tests}"


def _study_scripts() -> list[Path]:
    return sorted(p for p in STUDIES.glob("*.py") if '__name__ == "__main__"' in p.read_text())


def test_every_study_module_is_a_script_or_a_helper_of_one():
    scripts = _study_scripts()
    assert scripts
    imports = " ".join(p.read_text() for p in scripts)
    for module in STUDIES.glob("*.py"):
        if module not in scripts:
            assert re.search(
                rf"^\s*(?:from|import)\s+{module.stem}\b", imports, flags=re.MULTILINE
            ), f"studies/{module.name} is neither a script nor imported by one"


@pytest.mark.parametrize("script", _study_scripts(), ids=lambda p: p.name)
def test_study_answers_help_from_another_directory(script, tmp_path):
    result = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_test_modules_have_unique_names():
    # the test folders are not packages, so pytest imports two test_x.py files as one module
    names = sorted(p.name for p in (REPO / "tests").rglob("test_*.py"))
    assert not [n for n in set(names) if names.count(n) > 1], "rename one of the same-named tests"


def test_every_core_subpackage_is_in_the_wheel():
    # an editable install finds any folder; a wheel only the packages pyproject lists

    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "hepml_coffea").rglob("__init__.py")
    }
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"
