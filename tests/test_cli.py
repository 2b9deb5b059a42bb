import pandas as pd
import pytest

from tabae.cli import main, write_table
from tests.conftest import make_mixed, with_holes


@pytest.fixture()
def table(tmp_path):
    path = tmp_path / "table.parquet"
    with_holes(make_mixed(300), 0.1).to_parquet(path)
    return path


def test_fit_then_impute_sample_score(table, tmp_path):
    model = tmp_path / "m.tabae"
    assert main(["fit", str(table), "-o", str(model), "--epochs", "3"]) == 0
    assert main(["impute", str(model), str(table), "-o", str(tmp_path / "filled.parquet")]) == 0
    filled = pd.read_parquet(tmp_path / "filled.parquet")
    assert filled.notna().all().all()
    assert main(["sample", str(model), "-n", "50", "-o", str(tmp_path / "syn.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "syn.csv")) == 50
    assert main(["score", str(model), str(table), "-o", str(tmp_path / "scores.csv")]) == 0
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert list(scores.columns) == ["score", "top_column"] and len(scores) == 300


def test_errors_are_reported_without_partial_files(table, tmp_path, capsys):
    assert main(["impute", str(tmp_path / "absent.tabae"), str(table), "-o", str(tmp_path / "o.csv")]) == 2
    assert "no model file" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "o.csv").exists()
    with pytest.raises(Exception):
        write_table(pd.DataFrame({"a": [object()]}), str(tmp_path / "bad.parquet"))
    assert not list(tmp_path.glob(".bad.parquet.*")) and not (tmp_path / "bad.parquet").exists()


def test_fit_an_imputer_model_then_impute(table, tmp_path):
    import tabae

    model = tmp_path / "imp.tabae"
    assert main(["fit", str(table), "-o", str(model), "--model", "imputer", "--epochs", "3"]) == 0
    loaded = tabae.load(model)
    assert isinstance(loaded, tabae.DenoisingAE) and loaded.gaussian_blend and loaded.mask_rate == 0.5
    assert main(["impute", str(model), str(table), "-o", str(tmp_path / "filled.csv")]) == 0
    assert pd.read_csv(tmp_path / "filled.csv").notna().all().all()
