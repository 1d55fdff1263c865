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
