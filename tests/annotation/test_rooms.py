"""annotation/ is split into rooms by job: each package says what it holds, no module grows
past 600 lines, and the old import paths of the split modules keep working."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ANNOTATION = Path(__file__).resolve().parents[2] / "annotation"
MAX_LINES = 600


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_module_of_annotation_is_over_the_limit() -> None:
    over = {
        p.relative_to(ANNOTATION).as_posix(): _lines(p)
        for p in ANNOTATION.rglob("*.py")
        if _lines(p) > MAX_LINES
    }
    assert over == {}, f"split these modules (lines): {over}"


@pytest.mark.parametrize("package", [".", "labelstudio", "preannotate", "release", "training"])
def test_every_room_opens_with_a_docstring_naming_its_modules(package: str) -> None:
    """Every package of annotation/ (and annotation/ itself) names each of its modules."""
    init = ANNOTATION / package / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    modules = [p.stem for p in (ANNOTATION / package).glob("*.py") if p.stem != "__init__"]
    assert modules and [m for m in modules if m not in doc] == []


# Modules imported by their own path (`from annotation.labelstudio.pull import pull`), whose
# names the package does not re-export.
OWN_PATH = {
    "annotation.preannotate": {"structure"},
    "annotation.release": {"plots"},
    "annotation.labelstudio": {
        "database",
        "duplicates",
        "export_records",
        "importer",
        "ledger",
        "processes",
        "pull",
        "push",
        "refresh",
        "server",
    },
}


@pytest.mark.parametrize("package", sorted(OWN_PATH))
def test_a_split_package_re_exports_every_name_of_its_modules(package: str) -> None:
    """`from annotation.release import X` works for every public name of every module."""
    pkg = importlib.import_module(package)
    missing = []
    for path in Path(pkg.__file__).parent.glob("*.py"):
        if path.stem == "__init__" or path.stem in OWN_PATH[package]:
            continue
        module = importlib.import_module(f"{package}.{path.stem}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
            for name in names:
                if not name.startswith("_") and getattr(pkg, name, None) is not getattr(
                    module, name
                ):
                    missing.append(f"{path.stem}.{name}")
    assert missing == [], f"re-export these in {package}/__init__.py: {missing}"


def test_only_the_client_imports_the_label_studio_sdk() -> None:
    importers = set()
    for path in ANNOTATION.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(name.split(".")[0] == "label_studio_sdk" for name in names):
                importers.add(path.relative_to(ANNOTATION).as_posix())
    assert importers == {"labelstudio/client.py"}


def test_the_program_run_as_a_module_offers_every_verb() -> None:
    """`python -m annotation.cli` (project.yml runs it so) lists the verbs that live in
    cli_commands as well as curate and server."""
    root = ANNOTATION.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    shown = subprocess.run(
        [sys.executable, "-m", "annotation.cli", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=True,
    ).stdout
    listed = shown.split("Commands:", 1)[1].split()
    verbs = ["annotators", "curate", "demo", "doctor", "export", "preannotate", "pull", "push"]
    verbs += ["release", "schema", "server", "train"]
    assert [verb for verb in verbs if verb not in listed] == []
