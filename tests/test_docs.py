"""The documentation: the site builds strictly, and every code block of every page runs.

Each page's ```python blocks run top to bottom in one namespace, in a fresh folder that
holds the files the pages' shell examples name (``adult.csv``, ``data/``); every
```bash line must be a ``tabae ...`` command and runs through ``tabae.cli.main``. A block
the tests cannot run (one that installs packages or needs a server) must be marked with
``<!-- skip: reason -->`` on the line before it; an unmarked block that cannot run
fails. Blocks that only include a recipe (``--8<-- "recipes/NAME.py"``) are run by
tests/test_recipes.py.

The code runs with *fast settings* (docs/index.md says so to readers): ``load_adult``
returns a 600-row sample, ``epochs="auto"`` means 2 epochs and ``tune`` runs one trial;
numpy's BLAS uses one thread (as a model fit uses one torch thread).
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import os
import re
import shlex
import subprocess
import sys
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import tabae
import tabae.batch
import tabae.dask
import tabae.metrics

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if p.parts[-2] != "api")

FAST_ROWS = 600
FAST_EPOCHS = 2
FAST_TRIALS = 1

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
_SKIP = re.compile(r"<!--\s*skip:\s*(?P<reason>[^>]*?)\s*-->\s*$")
_INCLUDE = re.compile(r'^--8<-- "(?P<path>[^"]+)"$')


@dataclass
class Block:
    page: str
    line: int
    language: str
    code: str
    skip: str | None  # the reason given on the page, or None

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


def blocks(page: str) -> list[Block]:
    """The fenced code blocks of a page, in order, with their skip markers."""
    text = (DOCS / page).read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        language = match["info"].strip().split(" ")[0].lower()
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = _SKIP.search(before)
        code = textwrap.dedent(match["body"])
        found.append(Block(page, line, language, code, skip["reason"] if skip else None))
    return found


# ---------------------------------------------------------------------- fast settings
_ADULT = tabae.datasets.load_adult()


def _fast_adult():
    return _ADULT.sample(FAST_ROWS, random_state=0)


def _fast_epochs(*args, **kwargs) -> int:
    return FAST_EPOCHS


def _patch_everywhere(monkeypatch, original, replacement) -> int:
    """Replace ``original`` under every name a loaded tabae module holds it by."""
    count = 0
    for name, module in list(sys.modules.items()):
        if not (name == "tabae" or name.startswith("tabae.")) or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                monkeypatch.setattr(module, attr, replacement)
                count += 1
    return count


@contextlib.contextmanager
def fast_settings(monkeypatch):
    import threadpoolctl

    import tabae.impute
    import tabae.models.base
    import tabae.nn.training
    import tabae.tuning
    import tabae.tuning.spaces
    import tabae.tuning.study

    monkeypatch.setattr(tabae.datasets, "load_adult", _fast_adult)
    assert _patch_everywhere(monkeypatch, tabae.nn.training.auto_epochs, _fast_epochs) >= 2  # models (and the tuner through them), imputer

    real_tune = tabae.tuning.study.tune

    def capped_tune(df, *, n_trials=20, timeout=None, **kwargs):
        n_trials = FAST_TRIALS if n_trials is None else min(int(n_trials), FAST_TRIALS)
        return real_tune(df, n_trials=n_trials, timeout=None, **kwargs)

    assert _patch_everywhere(monkeypatch, real_tune, capped_tune) >= 2  # tabae.tuning.tune, study.tune
    with threadpoolctl.threadpool_limits(1), warnings.catch_warnings():
        # Unseen categories and ID-like columns are reported by design; the pages explain them.
        warnings.simplefilter("ignore", tabae.TabaeWarning)
        yield


def _write_inputs(folder: Path) -> None:
    """The files the pages' shell examples and batch code read."""
    df = _fast_adult()
    df.to_csv(folder / "adult.csv", index=False)
    df.to_parquet(folder / "adult.parquet", index=False)
    parts = folder / "data"
    parts.mkdir()
    with_id = df.reset_index(drop=True)
    with_id.insert(0, "id", np.arange(len(with_id)))
    for k, rows in enumerate(np.array_split(np.arange(len(with_id)), 3)):
        with_id.iloc[rows].to_parquet(parts / f"part-{k}.parquet", index=False)


def _shell_commands(code: str) -> list[str]:
    """The commands of a shell block (continuation lines joined, comments dropped)."""
    joined = code.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            commands.append(words)
    return commands


def run_block(block: Block, namespace: dict) -> None:
    if block.language == "python":
        include = _INCLUDE.match(block.code.strip())
        if include:
            path = ROOT / include["path"]
            assert path.is_file() and path.parent.name == "recipes", f"{block.where}: includes {path}"
            return  # the recipe runs in tests/test_recipes.py
        exec(compile(block.code, block.where, "exec"), namespace)
    elif block.language in ("bash", "sh", "shell", "console"):
        from tabae.cli import main

        for words in _shell_commands(block.code):
            assert words[0] == "tabae", (
                f"{block.where}: {' '.join(words)!r} is not a tabae command; the tests run only "
                "`tabae ...` lines: mark the block <!-- skip: reason --> if it cannot run"
            )
            code = main(words[1:])
            assert code == 0, f"{block.where}: `{' '.join(words)}` exited {code}"


RUNNABLE = ("python", "bash", "sh", "shell", "console")


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page, tmp_path, monkeypatch, capsys):
    """Every code block of the page runs, in order, with the fast settings."""
    page_blocks = [b for b in blocks(page) if b.language in RUNNABLE]
    monkeypatch.chdir(tmp_path)
    _write_inputs(tmp_path)
    namespace = {"__name__": f"docs_{Path(page).stem}"}
    with fast_settings(monkeypatch):
        for block in page_blocks:
            if block.skip is not None:
                assert block.skip, f"{block.where}: a skip marker needs a reason"
                continue
            run_block(block, namespace)


def test_every_code_block_is_run_or_marked():
    """No block is left out silently: each has a language the tests run or is plain text,
    and the skipped ones are listed with their reasons."""
    skipped = []
    for page in PAGES:
        for block in blocks(page):
            assert block.language in (*RUNNABLE, "text"), (
                f"{block.where}: a ```{block.language or '(no language)'} block; use python, bash or text"
            )
            if block.skip is not None:
                assert block.language in RUNNABLE, f"{block.where}: a skip marker on a text block"
                skipped.append(f"{block.where}: {block.skip}")
    # The marked blocks (cluster, database server, GPU, installs); shown with -rA.
    print("\n".join(["blocks not run:"] + skipped))
    assert len(skipped) <= 8, "more blocks are skipped than expected; can they run?"


# ---------------------------------------------------------------------- the site
def _missing_docs_tools() -> str | None:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except ModuleNotFoundError:
            return module
    return None


def test_site_builds_strictly(tmp_path):
    """``mkdocs build --strict``: broken links, unknown anchors, missing pages or images,
    unresolved API names and docstring warnings all fail the build."""
    missing = _missing_docs_tools()
    if missing is not None:
        pytest.skip(f"{missing} is not installed; install the docs tools with pip install -e '.[docs]' "
                    "(scripts/setup.sh does)")
    site = tmp_path / "site"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-6000:]

    # The API reference has an entry for every public name.
    api = "".join(p.read_text(encoding="utf-8") for p in (site / "api").rglob("*.html"))
    anchors = set(re.findall(r'id="(tabae\.[^"]+)"', api))
    missing = []
    for module in (tabae, tabae.metrics, tabae.batch, tabae.dask):
        for name in module.__all__:
            if name == "__version__":
                continue
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                ok = any(a.startswith(obj.__name__ + ".") for a in anchors)
            else:  # where it is used from, or where it is defined
                defined = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', name)}"
                ok = bool({f"{module.__name__}.{name}", defined, f"tabae.{name}", f"tabae.tuning.{name}"} & anchors)
            if not ok:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, f"public names missing from the API reference: {missing}"

    # Every figure the pages show was built into the site.
    for page in (site / "recipes" / "index.html", site / "tour" / "index.html"):
        for src in re.findall(r'<img[^>]+src="([^"]+)"', page.read_text(encoding="utf-8")):
            assert (page.parent / src).resolve().is_file(), f"{page}: {src}"
