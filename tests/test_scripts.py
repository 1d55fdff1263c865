"""The benchmark and tool scripts in scripts/ keep up with the code they call.

They are run by hand, not by the test suite, so a renamed function or a method moved off the
Label Studio client would only show when someone runs a 20-minute benchmark. Each script is
imported (its imports resolve), and every method it calls on a `client` exists on
`LabelStudio`.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

from annotation.labelstudio import LabelStudio

SCRIPTS = sorted((Path(__file__).resolve().parent.parent / "scripts").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_imports(script: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(script.parent))
    spec = importlib.util.spec_from_file_location(f"_script_{script.stem}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)  # runs the imports, not main()
    finally:
        sys.modules.pop(spec.name, None)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_calls_only_methods_the_label_studio_client_has(script: Path) -> None:
    tree = ast.parse(script.read_text(encoding="utf-8"))
    missing = sorted(
        {
            f"line {node.lineno}: client.{node.func.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "client"
            and not hasattr(LabelStudio, node.func.attr)
        }
    )
    assert missing == [], f"{script.name} calls methods LabelStudio does not have: {missing}"


def test_line_classifier_folds_and_held_out_part_go_by_site(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # settings are chosen by cross-validation folded by site: a fold's model never saw the
    # site it is scored on, and every page of a site is on one side of the fixed held-out split
    monkeypatch.syspath_prepend(str(SCRIPTS[0].parent))
    import train_line_classifier as train

    pages = [
        f"https://{www}news{n}.example/story/{k}"
        for n in range(40)
        for www in ("", "www.")
        for k in range(3)
    ]
    for folds in (3, 4):
        by_site: dict[str, set[int]] = {}
        for url in pages:
            by_site.setdefault(train.site_of(url), set()).add(train.cv_fold(url, folds))
        assert len(by_site) == 40 and all(len(f) == 1 for f in by_site.values())
        assert {f for fs in by_site.values() for f in fs} == set(range(folds))
    held = {train.site_of(url) for url in pages if train.held_out(url)}
    assert 0 < len(held) < 40
    assert all(train.held_out(url) == (train.site_of(url) in held) for url in pages)
