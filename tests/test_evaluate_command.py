"""``tabae evaluate REAL SYNTHETIC -o report.html``: a self-contained HTML report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabae.cli import main


@pytest.fixture
def tables(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=n), "c": np.where(x > 0, "a", "b"),
                       "label": np.where(rng.random(n) < 0.3, "yes", "no")})
    paths = {}
    for name, part in [("real", df[:200]), ("synthetic", df[200:300]), ("holdout", df[300:])]:
        paths[name] = tmp_path / f"{name}.parquet"
        part.to_parquet(paths[name], index=False)
    return paths


def test_evaluate_writes_a_self_contained_report(tables, tmp_path, capsys):
    out = tmp_path / "report.html"
    code = main(["evaluate", str(tables["real"]), str(tables["synthetic"]), "-o", str(out),
                 "--holdout", str(tables["holdout"]), "--target", "label"])
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for text in ("column shapes", "ML efficacy AUC", "DCR share", "lowest trend score"):
        assert text in page
    assert 'src="http' not in page and "<link" not in page  # nothing to fetch: one file
    pytest.importorskip("matplotlib")
    assert "data:image/png;base64," in page
    assert "report ->" in capsys.readouterr().out


def test_evaluate_refuses_a_non_html_output(tables, tmp_path, capsys):
    code = main(["evaluate", str(tables["real"]), str(tables["synthetic"]), "-o", str(tmp_path / "report.pdf")])
    assert code == 2
    assert ".html" in capsys.readouterr().err
    assert not (tmp_path / "report.pdf").exists()


def test_evaluate_target_needs_holdout(tables, tmp_path, capsys):
    code = main(["evaluate", str(tables["real"]), str(tables["synthetic"]), "-o", str(tmp_path / "r.html"),
                 "--target", "label"])
    assert code == 2
    assert "holdout" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()
