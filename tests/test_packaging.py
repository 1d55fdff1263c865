"""The built wheel works on its own: installed into a fresh virtual environment and run from
another directory, `contraband` finds its shipped configs (no checkout on the path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "corpus", "annotation", "configs")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the sources (the checkout is left untouched)."""
    src = tmp_path_factory.mktemp("wheel-src")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(src),
        ],
        cwd=src,
    )
    (built,) = dist.glob("contraband_corpus-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with only the wheel installed; the test interpreter's site-packages is
    appended to its path (a plain .pth line: that directory's own .pth files, e.g. an editable
    install of this project, are not run) so the dependencies are not downloaded again."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv.parent)
    python = venv / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=venv.parent,
    ).strip()
    deps = sysconfig.get_paths()["purelib"]
    Path(purelib, "zz_contraband_test_deps.pth").write_text(deps + "\n", encoding="utf-8")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        cwd=venv.parent,
    )
    return venv


def _run(cmd: list[str], *, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CONTRABAND_CONFIG_DIR")}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_wheel_holds_every_file_of_configs(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        shipped = {
            n.removeprefix("corpus/default_configs/")
            for n in whl.namelist()
            if n.startswith("corpus/default_configs/")
        }
    in_repo = {
        p.relative_to(REPO / "configs").as_posix()
        for p in (REPO / "configs").rglob("*")
        if p.is_file()
    }
    assert in_repo - shipped == set(), "list the new configs/ sub-directory in pyproject.toml"


def test_installed_wheel_curates_the_seeds_and_prints_the_labeling_config(
    fresh_venv: Path, tmp_path: Path
) -> None:
    contraband = str(fresh_venv / "bin" / "contraband")
    where = _run(
        [str(fresh_venv / "bin" / "python"), "-c", "import corpus; print(corpus.__file__)"],
        cwd=tmp_path,
    )
    assert where.startswith(str(fresh_venv)), where

    out = _run(
        [contraband, "curate", str(REPO / "seeds"), "--out", "corpus", "--no-progress"],
        cwd=tmp_path,
    )
    assert out.startswith("curate: 5 pages in, 5 kept"), out
    assert (tmp_path / "corpus" / "corpus.parquet").stat().st_size > 0

    config = _run([contraband, "schema", "labeling-config"], cwd=tmp_path)
    assert config.startswith("<View>") and '<Label value="SEIZURE"' in config


def test_installed_wheel_takes_a_config_dir_override(fresh_venv: Path, tmp_path: Path) -> None:
    schema = (REPO / "configs" / "schema.yaml").read_text(encoding="utf-8")
    override = tmp_path / "my-configs"
    override.mkdir()
    (override / "schema.yaml").write_text(schema.replace("WILDLIFE", "FAUNA"))
    contraband = str(fresh_venv / "bin" / "contraband")
    out = _run([contraband, "--config-dir", str(override), "schema", "labels"], cwd=tmp_path)
    assert "FAUNA" in out and "WILDLIFE" not in out


def test_wheel_holds_every_python_module(wheel: Path) -> None:
    """A sub-package missing from pyproject's package list would install without its modules."""
    with zipfile.ZipFile(wheel) as whl:
        shipped = set(whl.namelist())
    in_repo = {
        p.relative_to(REPO).as_posix()
        for package in ("corpus", "annotation")
        for p in (REPO / package).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert in_repo - shipped == set(), "list the new sub-package in pyproject.toml packages"


def test_installed_wheel_finds_the_relation_component_by_its_entry_point(
    fresh_venv: Path, tmp_path: Path
) -> None:
    """`python -m spacy evaluate` on a trained model needs the factory without our imports."""
    code = (
        "import spacy; "
        "spacy.blank('en'); "  # a new Language loads the spacy_factories entry points
        "f = spacy.registry.factories.get('contraband_relation_model'); "
        "print(f.__module__, f.__name__)"
    )
    out = _run([str(fresh_venv / "bin" / "python"), "-c", code], cwd=tmp_path)
    assert out.split() == ["annotation.training.relation_model", "make_relation_model"], out
