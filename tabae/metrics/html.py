"""A synthetic-data report as one self-contained HTML file, and the ``tabae evaluate`` command.

:func:`report_html` turns a :class:`~tabae.metrics.SyntheticReport` into a page with
the summary table, the per-column and worst column-pair scores and, when matplotlib is
installed, the report's figure (:meth:`~tabae.metrics.SyntheticReport.plot`) embedded
as a PNG: one file to attach to a ticket or open offline, no other files beside it.

The command::

    tabae evaluate real.parquet synthetic.parquet -o report.html \\
        --holdout holdout.parquet --target income
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import os
import tempfile
from pathlib import Path

import pandas as pd

from tabae.exceptions import TabaeError

__all__ = ["report_html", "write_html", "add_evaluate_arguments", "run_evaluate_command"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
img { max-width: 100%; } .note { color: #666; }
"""


def _table(df: pd.DataFrame, digits: int = 3) -> str:
    """An HTML table with numbers rounded (pandas' to_html, escaped)."""
    return df.round(digits).to_html(border=0, na_rep="—", escape=True)


def _figure(report, fig=None) -> str:
    """The report's figure as an inline PNG, or a note saying how to get it."""
    if fig is None:
        try:
            import matplotlib
        except ImportError:
            return '<p class="note">Figures need matplotlib: <code>pip install "tabae[plots]"</code>.</p>'
        matplotlib.use("Agg")  # no window: the figure goes into the file
        fig = report.plot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="real vs synthetic marginals and pair-trend gaps" src="data:image/png;base64,{data}">'


def report_html(report, title: str = "Synthetic data report", worst_pairs: int = 15, figure=None) -> str:
    """The report as a self-contained HTML page (a string).

    Parameters
    ----------
    report : SyntheticReport
        From :func:`tabae.evaluate`.
    title : str, default="Synthetic data report"
    worst_pairs : int, default=15
        How many column pairs with the lowest trend score to list.
    figure : matplotlib.figure.Figure, optional
        A figure already drawn by ``report.plot()``, embedded instead of drawing it again.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np, pandas as pd, tabae
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(["a", "b"], 400)})
    >>> page = report_html(tabae.evaluate(df[:200], df[200:]))
    >>> page.startswith("<!DOCTYPE html>"), "column shapes" in page
    (True, True)
    """
    summary = report.summary()
    shapes = report.column_shapes.set_index("column") if report.column_shapes is not None else pd.DataFrame()
    pairs = report.pair_trends
    if pairs is not None and len(pairs):
        pairs = pairs.sort_values("score").head(worst_pairs).set_index(["column_1", "column_2"])
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Scores</h2>", _table(summary),
        "<h2>Figures</h2>", _figure(report, figure),
        "<h2>Column shapes</h2>", _table(shapes),
    ]
    if pairs is not None and len(pairs):
        parts += [f"<h2>The {len(pairs)} column pairs with the lowest trend score</h2>", _table(pairs)]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(report, path, title: str = "Synthetic data report", figure=None) -> Path:
    """Write :func:`report_html` to ``path`` atomically (a temporary file renamed at the end).

    Parameters
    ----------
    report : SyntheticReport
        From :func:`tabae.evaluate`.
    path : str or path-like
        A file name ending in ``.html``, in an existing folder.
    title : str, default="Synthetic data report"
    figure : matplotlib.figure.Figure, optional
        As in :func:`report_html`.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise TabaeError(f"cannot write the report to {str(path)!r}: give a file name ending in .html")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise TabaeError(f"cannot write to {str(path)!r}: the folder {str(folder)!r} does not exist; create it first")
    page = report_html(report, title=title, figure=figure)
    fd, tmp = tempfile.mkstemp(prefix=".tabae-", suffix=".html", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


# ---------------------------------------------------------------------- the command
def add_evaluate_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments of ``tabae evaluate``."""
    parser.add_argument("real", help="the rows the generator was trained on (.parquet or .csv)")
    parser.add_argument("synthetic", help="the generated rows, same columns")
    parser.add_argument("-o", "--output", required=True, help="the report to write, e.g. report.html")
    parser.add_argument("--holdout", default=None,
                        help="real rows the generator never saw: adds the privacy scores (DCR share, copies)")
    parser.add_argument("--target", default=None, help="a binary column for ML efficacy (needs --holdout)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def run_evaluate_command(args) -> None:
    """Read the tables, score them with :func:`tabae.evaluate`, write the HTML report."""
    from tabae.cli import read_table
    from tabae.metrics.report import evaluate

    if Path(args.output).suffix.lower() not in (".html", ".htm"):
        raise TabaeError(f"-o {args.output!r}: the report is HTML; give a file name ending in .html")
    real, synthetic = read_table(args.real), read_table(args.synthetic)
    holdout = read_table(args.holdout) if args.holdout else None
    report = evaluate(real, synthetic, holdout=holdout, target=args.target, random_state=args.seed)
    write_html(report, args.output, title=f"{Path(args.synthetic).name} against {Path(args.real).name}")
    print(report.summary()[["score", "reference"]].round(3).to_string())
    print(f"report -> {args.output}")
