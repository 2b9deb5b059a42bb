"""What every recipe shares: its command line, optional imports, and saving figures.

Each recipe runs as ``python recipes/NAME.py [--fast] [--out DIR]``: ``--fast`` uses a
small table and a few epochs (seconds; the test suite runs it), ``--out`` is the folder
the figures (PNG) and other outputs go to. A recipe whose optional dependency is missing
prints the extra to install and exits with :data:`EXIT_MISSING_EXTRA`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

#: Exit status of a recipe that cannot run because an optional dependency is missing
#: (distinct from 0 = done, 1 = failed, 2 = bad command line).
EXIT_MISSING_EXTRA = 3


def options(doc: str, argv=None) -> argparse.Namespace:
    """Parse ``--fast`` and ``--out``; the output folder is created."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small data and few epochs (seconds): for tests")
    parser.add_argument("--out", type=Path, default=Path("recipe-output"),
                        help="folder for the figures and other outputs (default: recipe-output)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def require(module: str, extra: str):
    """Import ``module`` or say which tabae extra installs it and exit."""
    try:
        return importlib.import_module(module)
    except ImportError:
        print(f"this recipe needs {module.split('.')[0]}, which is not installed; "
              f'install it with: pip install "tabae[{extra}]"', file=sys.stderr)
        raise SystemExit(EXIT_MISSING_EXTRA) from None


def pyplot():
    """matplotlib.pyplot drawing to files (no window), or exit with the install hint."""
    matplotlib = require("matplotlib", "plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, out: Path, name: str) -> Path:
    """Write ``fig`` to ``out/name`` and close it."""
    import matplotlib.pyplot as plt

    path = Path(out) / name
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")
    return path


def plot_history(ax, history, title: str) -> None:
    """Training and validation loss per epoch, from a fitted model's ``history_``."""
    epochs = [r["epoch"] for r in history]
    ax.plot(epochs, [r["train_loss"] for r in history], label="train")
    if "val_loss" in history[0]:
        ax.plot(epochs, [r["val_loss"] for r in history], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss per row")
    ax.set_title(title)
    ax.legend()
