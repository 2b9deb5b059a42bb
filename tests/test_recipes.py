"""Every recipe runs with ``--fast`` and writes the figures its docstring names; a recipe
whose optional dependency is missing says which extra to install and exits with 3.

The recipes run in this process (``main(["--fast", "--out", DIR])``, as
``sys.exit(main())`` does for ``python recipes/NAME.py``), which saves starting torch
eight times.
numpy's BLAS is limited to one thread, as a model fit limits torch.
"""

from __future__ import annotations

import re
import runpy
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
NAMES = sorted(p.stem for p in RECIPES.glob("[!_]*.py"))


def figures_named(name: str) -> list[str]:
    """The PNG files a recipe's docstring promises."""
    text = (RECIPES / f"{name}.py").read_text(encoding="utf-8")
    doc = text.split('"""')[1]
    return sorted(set(re.findall(r"[\w-]+\.png", doc)))


@pytest.fixture
def recipe_path(monkeypatch):
    monkeypatch.syspath_prepend(str(RECIPES))  # `from _common import ...`, as `python recipes/X.py` has


def test_recipes_are_found():
    assert len(NAMES) == 8, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_recipe_runs_fast(name, tmp_path, recipe_path):
    pytest.importorskip("matplotlib", reason='the recipes draw figures: pip install "tabae[plots]"')
    if name == "batch_and_dask":
        pytest.importorskip("dask.dataframe", reason='the batch recipe runs Dask: pip install "tabae[dask]"')
    import threadpoolctl

    main = runpy.run_path(str(RECIPES / f"{name}.py"), run_name=f"recipe_{name}")["main"]
    with threadpoolctl.threadpool_limits(1), warnings.catch_warnings():
        assert main(["--fast", "--out", str(tmp_path)]) == 0
    promised = figures_named(name)
    assert promised, f"recipes/{name}.py: its docstring names no figure"
    for figure in promised:
        path = tmp_path / figure
        assert path.is_file() and path.stat().st_size > 1000, f"recipes/{name}.py did not write {figure}"
        assert (ROOT / "docs" / "figures" / figure).is_file(), f"docs/figures/{figure} (a full run's) is missing"


@pytest.mark.parametrize(("name", "module", "extra"), [
    ("digits_autoencoders", "matplotlib", "plots"),
    ("batch_and_dask", "dask", "dask"),
])
def test_recipe_without_its_extra_exits_3(name, module, extra, tmp_path, recipe_path, monkeypatch, capsys):
    """The install hint on stderr and exit status 3, before any work (``sys.modules[module] =
    None`` makes importing it fail as if it were not installed)."""
    for loaded in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, loaded, None)
    monkeypatch.setitem(sys.modules, module, None)
    main = runpy.run_path(str(RECIPES / f"{name}.py"), run_name=f"recipe_{name}")["main"]
    with pytest.raises(SystemExit) as stopped:
        main(["--fast", "--out", str(tmp_path)])
    assert stopped.value.code == 3
    assert f'pip install "tabae[{extra}]"' in capsys.readouterr().err
    assert not list(tmp_path.glob("*.png"))
