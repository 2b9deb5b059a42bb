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
    assert main(["fit", str(table), "-o", str(model), "--epochs", "2", "--quiet"]) == 0
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
    with pytest.raises((TypeError, ValueError)):  # pyarrow's ArrowTypeError / ArrowInvalid
        write_table(pd.DataFrame({"a": [object()]}), str(tmp_path / "bad.parquet"))
    assert not list(tmp_path.glob(".bad.parquet.*")) and not (tmp_path / "bad.parquet").exists()


def test_fit_an_imputer_model_then_impute(table, tmp_path):
    import tabae

    model = tmp_path / "imp.tabae"
    assert main(["fit", str(table), "-o", str(model), "--model", "imputer", "--epochs", "2", "--quiet"]) == 0
    loaded = tabae.load(model)
    assert isinstance(loaded, tabae.DenoisingAE) and loaded.gaussian_blend and loaded.mask_rate == 0.5
    assert main(["impute", str(model), str(table), "-o", str(tmp_path / "filled.csv")]) == 0
    assert pd.read_csv(tmp_path / "filled.csv").notna().all().all()


def test_fit_checks_the_output_folder_before_any_work(table, tmp_path, capsys, monkeypatch):
    import tabae

    def never(*args, **kwargs):
        raise AssertionError("trained before checking the output path")

    monkeypatch.setattr(tabae.TabularVAE, "fit", never)
    monkeypatch.setattr("tabae.cli.read_table", never)
    assert main(["fit", str(table), "-o", str(tmp_path / "missing" / "m.tabae")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and err.count("\n") == 1


def test_fit_errors_are_one_line(tmp_path, capsys):
    pd.DataFrame({"a": [1.0], "b": ["x"]}).to_parquet(tmp_path / "one.parquet")
    assert main(["fit", str(tmp_path / "one.parquet"), "-o", str(tmp_path / "m.tabae"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "1 row(s)" in err and err.count("\n") == 1 and not (tmp_path / "m.tabae").exists()
    assert main(["fit", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "m.tabae")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_fit_on_a_bounded_sample_of_a_folder(table, tmp_path, monkeypatch):
    import tabae

    folder = tmp_path / "parts"
    folder.mkdir()
    df = pd.read_parquet(table)
    df.iloc[:150].to_parquet(folder / "a.parquet")
    df.iloc[150:].to_parquet(folder / "b.parquet")
    seen = []
    original = tabae.DenoisingAE.fit

    def spy(self, X, *args, **kwargs):
        seen.append(X)
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(tabae.DenoisingAE, "fit", spy)
    model = tmp_path / "m.tabae"
    assert main(["fit", str(folder), "-o", str(model), "--model", "dae", "--epochs", "1", "--sample-rows", "120",
                 "--sample-only", "--batch-size", "64", "--quiet"]) == 0
    assert len(seen[0]) == 120 and list(seen[0].columns) == list(df.columns)
    assert seen[0]["count"].dtype == "Int64"  # pandas' own dtypes, from the files' metadata
    assert set(seen[0]["group"].dropna()) == {"a", "b", "c"}  # a uniform sample, not the rows of one kind
    assert tabae.load(model).encoder_.schema_.names == list(df.columns)
