"""Streamed impute / score / sample (tabae.batch and the CLI on top): types, chunk invariance, errors."""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tabae
from tabae import threads
from tabae.batch import impute_frame, open_source, sample_rows, score_frame
from tabae.batch.coerce import check_columns, coerce_frame
from tabae.cli import main
from tabae.threads import torch_threads
from tests.conftest import make_mixed, with_holes

SMALL = dict(hidden_dims=(32, 32), latent_dim=4, epochs=2, batch_size=128, verbose=False, random_state=0)


def make_table(n=600, seed=0):
    """Every type the issue names: nullable ints and bools, str, category, tz timestamps, an id."""
    df = with_holes(make_mixed(n, seed), 0.1, seed=seed + 1)
    when = pd.Series(pd.date_range("2024-01-01", periods=n, freq="37min", tz="Europe/Oslo").as_unit("us"))
    df["when"] = when.mask(np.random.default_rng(seed).random(n) < 0.1)
    df.insert(2, "id", np.arange(n, dtype=np.int64) + 1000)  # an extra column, in the middle
    return df


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A table (Parquet, 5 row groups) and a small DenoisingAE fitted on its model columns."""
    root = tmp_path_factory.mktemp("batch")
    df = make_table()
    df.to_parquet(root / "table.parquet", row_group_size=130)
    model = tabae.DenoisingAE(mask_rate=0.3, **SMALL).fit(df.drop(columns="id"))
    model.save(root / "model.tabae")
    return root, df, tabae.load(root / "model.tabae")


def leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".tmp"))


# ---------------------------------------------------------------------- impute
@pytest.mark.parametrize("threads", ["1", "2"])  # the model's blocks on one thread or shared by two
def test_impute_keeps_the_arrow_schema_and_equals_the_whole_frame(work, tmp_path, threads):
    import duckdb

    root, df, model = work
    out = tmp_path / "filled.parquet"
    assert main(["impute", str(root / "model.tabae"), str(root / "table.parquet"), "-o", str(out),
                 "--batch-size", "97", "--threads", threads]) == 0
    assert pq.read_schema(out).equals(pq.read_schema(root / "table.parquet"))
    got = pq.read_table(out).to_pandas()
    model_columns = df.columns.drop("id")
    expected = df.copy()
    expected[model_columns] = model.impute(df[model_columns])
    pd.testing.assert_frame_equal(got, expected)  # chunks of 97 rows == one piece, bit for bit
    assert got[model_columns].notna().all().all()

    con = duckdb.connect()
    rows = con.execute(f"SELECT id, count, flag, label, \"when\" FROM read_parquet('{out}')").fetchall()
    kinds = [d[1] for d in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{out}')").fetchall()]
    assert len(rows) == len(df) and [r[0] for r in rows] == df["id"].tolist()  # order kept
    assert kinds[:4] == ["DOUBLE", "DOUBLE", "BIGINT", "BIGINT"] and kinds[5:] == ["BOOLEAN", "VARCHAR",
                                                                                    "TIMESTAMP WITH TIME ZONE"]
    assert not leftovers(tmp_path)


def test_impute_a_hive_dataset_and_a_glob_with_an_all_empty_string_file(work, tmp_path):
    root, df, model = work
    hive = tmp_path / "hive"
    table = pa.Table.from_pandas(df.assign(part=np.arange(len(df)) % 3), preserve_index=False)
    pq.write_to_dataset(table, hive, partition_cols=["part"])
    out = tmp_path / "hive_out.parquet"
    assert main(["impute", str(root / "model.tabae"), str(hive), "-o", str(out), "--batch-size", "50"]) == 0
    got = pq.read_table(out)
    assert got.num_rows == len(df) and got.schema.names[-1] == "part" and "id" in got.schema.names
    assert sorted(got.column("id").to_pylist()) == df["id"].tolist()

    parts = tmp_path / "parts"
    parts.mkdir()
    first, second = df.iloc[:200].copy(), df.iloc[200:].copy()
    second["label"] = None  # this file's string column is entirely empty (Arrow type null)
    first.to_parquet(parts / "a.parquet")
    second.to_parquet(parts / "b.parquet")
    out = tmp_path / "glob_out.parquet"
    assert main(["impute", str(root / "model.tabae"), str(parts / "*.parquet"), "-o", str(out)]) == 0
    filled = pq.read_table(out).to_pandas()
    assert len(filled) == len(df) and filled["label"].notna().all()
    assert set(filled["label"]) <= {"high", "low"}


def test_a_chunk_with_an_empty_string_column_is_coerced(work):
    _, df, model = work
    chunk = df.drop(columns="id").head(20).copy()
    chunk["label"] = np.nan  # how pandas reads a chunk whose string column is all missing
    chunk["count"] = chunk["count"].astype("float64")
    fitted = coerce_frame(chunk, model.encoder_.schema_)
    assert str(fitted["label"].dtype) == str(df["label"].dtype) and str(fitted["count"].dtype) == "Int64"
    filled = impute_frame(model, chunk)
    assert filled["label"].notna().all() and filled["count"].dtype == "Int64"


def test_csv_in_and_out(work, tmp_path):
    root, df, model = work
    df.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "filled.csv"
    assert main(["impute", str(root / "model.tabae"), str(tmp_path / "t.csv"), "-o", str(out),
                 "--batch-size", "128"]) == 0
    back = pd.read_csv(out)
    assert list(back.columns) == list(df.columns) and len(back) == len(df)
    assert back.drop(columns="id").notna().all().all() and back["id"].tolist() == df["id"].tolist()


# ---------------------------------------------------------------------- score
def test_score_equals_decision_function_and_keeps_ids(work, tmp_path):
    import duckdb

    root, df, model = work
    out = tmp_path / "scores.parquet"
    assert main(["score", str(root / "model.tabae"), str(root / "table.parquet"), "-o", str(out),
                 "--keep", "id", "--batch-size", "64", "--threads", "2"]) == 0
    got = pq.read_table(out)
    assert got.schema.names == ["id", "score", "top_column"]
    assert got.schema.field("score").type == pa.float64() and got.schema.field("id").type == pa.int64()
    X = df.drop(columns="id")
    assert np.array_equal(got.column("score").to_numpy(), model.decision_function(X).to_numpy())
    contrib = model.decision_function(X, per_column=True)
    assert got.column("top_column").to_pylist() == contrib.idxmax(axis=1).tolist()
    ids = [r[0] for r in duckdb.connect().execute(f"SELECT id FROM '{out}'").fetchall()]  # a scan keeps file order
    assert ids == df["id"].tolist()
    scored = score_frame(model, df.head(3), keep=["id"])
    assert scored["score"].tolist() == got.column("score").to_pylist()[:3]


def test_score_refuses_extra_columns_unless_kept(work, tmp_path, capsys):
    root, _, _ = work
    out = tmp_path / "s.parquet"
    assert main(["score", str(root / "model.tabae"), str(root / "table.parquet"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "['id']" in err and "--keep" in err and err.count("\n") == 1 and not out.exists()


# ---------------------------------------------------------------------- sample
def test_sample_streams_chunks_with_one_schema(tmp_path):
    df = make_table(300).drop(columns="id")
    tabae.TabularVAE(**SMALL).fit(df).save(tmp_path / "vae.tabae")
    out = tmp_path / "syn.parquet"
    assert main(["sample", str(tmp_path / "vae.tabae"), "-n", "1000", "-o", str(out), "--batch-size", "300"]) == 0
    got = pq.read_table(out)
    assert got.num_rows == 1000 and got.schema.names == list(df.columns)
    assert got.schema.field("count").type == pa.int64() and pa.types.is_dictionary(got.schema.field("group").type)
    assert got.schema.field("when").type == pa.timestamp("us", tz="Europe/Oslo")
    assert pq.ParquetFile(out).metadata.num_row_groups == 4  # 300 + 300 + 300 + 100


# ---------------------------------------------------------------------- bad input
def test_bad_inputs_get_one_line_and_leave_nothing(work, tmp_path, capsys):
    root, df, _ = work
    model = str(root / "model.tabae")
    (tmp_path / "garbage.parquet").write_bytes(b"not parquet at all")
    df.drop(columns="x").to_parquet(tmp_path / "no_x.parquet")
    df.assign(x=df["x"].astype(str)).to_parquet(tmp_path / "x_as_text.parquet")
    pd.DataFrame({"a": [1, 2], "b": ["u", "v"]}).to_csv(tmp_path / "other.csv", index=False)
    out = str(tmp_path / "out.parquet")
    cases = {
        "no such file": ["impute", model, str(tmp_path / "absent.parquet"), "-o", out],
        "no file matches": ["impute", model, str(tmp_path / "absent*.parquet"), "-o", out],
        "cannot read": ["impute", model, str(tmp_path / "garbage.parquet"), "-o", out],
        "lacks column(s) ['x']": ["impute", model, str(tmp_path / "no_x.parquet"), "-o", out],
        "input column 'x' holds": ["score", model, str(tmp_path / "x_as_text.parquet"), "-o", out, "--keep", "id"],
        "lacks column(s)": ["impute", model, str(tmp_path / "other.csv"), "-o", out],
        "does not exist": ["impute", model, str(root / "table.parquet"), "-o", str(tmp_path / "nope" / "o.parquet")],
        "not a zip": ["score", str(tmp_path / "other.csv"), str(root / "table.parquet"), "-o", out],
        "looks like a table": ["score", str(tmp_path / "t.parquet"), str(root / "table.parquet"), "-o", out],
        "give a .parquet or .csv": ["impute", model, str(root / "table.parquet"), "-o", str(tmp_path / "o.xlsx")],
        "cannot generate rows": ["sample", model, "-n", "10", "-o", out],
    }
    for expected, argv in cases.items():
        assert main(argv) == 2, expected
        err = capsys.readouterr().err
        assert expected in err and err.count("\n") == 1 and "Traceback" not in err, (expected, err)
        assert not os.path.exists(out) and not leftovers(tmp_path)


def test_an_error_midway_removes_the_partial_output(work, tmp_path, capsys, monkeypatch):
    root, _, _ = work
    calls = []

    def failing(model, frame):
        calls.append(len(frame))
        if len(calls) == 3:
            raise RuntimeError("boom\nsecond line")
        return frame

    monkeypatch.setattr("tabae.batch.jobs.impute_frame", failing)
    out = tmp_path / "o.parquet"
    assert main(["impute", str(root / "model.tabae"), str(root / "table.parquet"), "-o", str(out),
                 "--batch-size", "50"]) == 1
    assert capsys.readouterr().err == "tabae: error: RuntimeError: boom second line\n"
    assert not out.exists() and not leftovers(tmp_path)


@pytest.mark.parametrize("command, threads", [("impute", "1"), ("score", "2")])  # score: batches on threads
def test_sigint_exits_130_and_leaves_no_output(work, tmp_path, command, threads):
    root, df, _ = work
    # 90,000 rows in 1,407 batches of 64 (scoring on two threads is faster: 360,000 rows)
    big = pd.concat([df] * (150 if command == "impute" else 600), ignore_index=True)
    big.to_parquet(tmp_path / "big.parquet", row_group_size=4096)
    out = tmp_path / "o.parquet"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tabae.cli", command, str(root / "model.tabae"), str(tmp_path / "big.parquet"),
         "-o", str(out), "--batch-size", "64", "--threads", threads, *(["--keep", "id"] if command == "score" else [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    while not leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip(f"the job ended before it could be interrupted: {proc.communicate()[1][-300:]}")
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["tabae: interrupted; no output was written"]
    assert not out.exists() and not leftovers(tmp_path)


# ---------------------------------------------------------------------- pieces
def test_sample_rows_is_seeded_uniform_ordered_and_bounded(tmp_path):
    pd.DataFrame({"x": np.arange(5000)}).to_parquet(tmp_path / "t.parquet", row_group_size=700)
    source = open_source(tmp_path / "t.parquet")
    a = sample_rows(source, 100, random_state=1, batch_size=256)
    b = sample_rows(source, 100, random_state=1, batch_size=256)
    assert a.equals(b) and len(a) == 100 and a["x"].is_monotonic_increasing
    assert not a.equals(sample_rows(source, 100, random_state=2, batch_size=256))
    means = [sample_rows(source, 50, random_state=s, batch_size=512)["x"].mean() for s in range(20)]
    assert abs(np.mean(means) - 2499.5) < 250  # not biased towards early or late rows
    assert len(sample_rows(source, 10_000)) == 5000


def test_check_columns_accepts_null_and_widened_types(work):
    _, df, model = work
    schema = pa.Schema.from_pandas(df, preserve_index=False)
    assert check_columns(schema, model.encoder_.schema_) == ["id"]
    nulls = pa.schema([pa.field(f.name, pa.null()) for f in schema])
    assert check_columns(nulls, model.encoder_.schema_) == ["id"]


def test_torch_threads_are_restored_after_a_job(work, tmp_path):
    import torch

    root, _, _ = work
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert main(["score", str(root / "model.tabae"), str(root / "table.parquet"), "-o", str(tmp_path / "s.csv"),
                 "--keep", "id", "--threads", "2", "--progress"]) == 0
    assert torch.get_num_threads() == before
    assert pd.read_csv(tmp_path / "s.csv").columns.tolist() == ["id", "score", "top_column"]


@pytest.mark.parametrize("threads", ["1", "2"])  # 2: score's batches warn from worker threads
@pytest.mark.parametrize("user_filter, expected", [("default", 1), ("ignore", 0)])
def test_a_job_warns_once_per_kind_and_keeps_the_users_filters(work, tmp_path, user_filter, expected, threads):
    """Every batch brings other unseen labels (other counts and examples in the text):
    one warning for the job, and none when the user ignores tabae's warnings."""
    import warnings

    root, df, _ = work
    table = df.drop(columns="id").copy()
    table["label"] = [f"new-{i // 100}" for i in range(len(table))]  # 6 batches, 6 new labels
    table.to_parquet(tmp_path / "new.parquet", row_group_size=100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter(user_filter, tabae.TabaeWarning)
        assert main(["score", str(root / "model.tabae"), str(tmp_path / "new.parquet"), "-o",
                     str(tmp_path / "s.parquet"), "--batch-size", "100", "--threads", threads]) == 0
    unseen = [w for w in caught if "not seen at fit" in str(w.message)]
    assert len(unseen) == expected, [str(w.message) for w in unseen]


def test_warning_kinds_keep_the_digits_of_column_names():
    from tabae.warnings_once import warning_kind as _warning_kind

    one = "column 'q1': 7 categories not seen at fit (e.g. ['x1', 'y']) were mapped"
    assert _warning_kind(one) == _warning_kind("column 'q1': 12 categories not seen at fit (e.g. ['z']) were mapped")
    assert _warning_kind(one) != _warning_kind(one.replace("'q1'", "'q2'"))


def test_warnings_once_shows_each_kind_once():
    import warnings

    from tabae.warnings_once import warnings_once

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with warnings_once():
            for n, column in [(3, "a"), (5, "a"), (7, "b"), (9, "a")]:
                message = f"column '{column}': {n} categories not seen at fit (e.g. ['x{n}'])"
                warnings.warn(message, tabae.TabaeWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["column 'a': 3 categories not seen at fit (e.g. ['x3'])",
                                                "column 'b': 7 categories not seen at fit (e.g. ['x7'])"]


def test_reading_keeps_no_more_than_a_piece_ahead_of_a_slow_consumer(tmp_path):
    # A dataset scanner decodes ahead without limit: on a 2M-row file it held the whole
    # decoded file while the model worked on the first batches.
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.random((400_000, 4))).rename(columns=str).to_parquet(tmp_path / "t.parquet",
                                                                           row_group_size=10_000)
    decoded = 400_000 * 4 * 8
    start, most = pa.total_allocated_bytes(), 0
    for _batch in open_source(tmp_path / "t.parquet").batches(5_000):
        time.sleep(0.002)  # the model's turn
        most = max(most, pa.total_allocated_bytes() - start)
    assert most < decoded / 8, f"{most / 2**20:.1f} MB held while reading a {decoded / 2**20:.1f} MB table"


def test_csv_folders_stream_in_exact_batches_with_their_partition_values(tmp_path):
    rng = np.random.default_rng(1)
    frames = {}
    for part in ("a", "b"):
        (tmp_path / f"part={part}").mkdir()
        frames[part] = pd.DataFrame({"x": rng.random(30_000), "s": rng.choice(["u", "v", None], 30_000)})
        frames[part].to_csv(tmp_path / f"part={part}" / "data.csv", index=False)
    source = open_source(tmp_path)
    batches = list(source.batches(7_000))
    assert [b.num_rows for b in batches] == [7_000] * 4 + [2_000] + [7_000] * 4 + [2_000]
    back = pa.Table.from_batches(batches).to_pandas()
    expected = pd.concat([frames["a"].assign(part="a"), frames["b"].assign(part="b")], ignore_index=True)
    assert back.columns.tolist() == ["x", "s", "part"]
    np.testing.assert_array_equal(back["x"].to_numpy(), expected["x"].to_numpy())
    assert back["s"].isna().sum() == expected["s"].isna().sum()
    assert back["part"].tolist() == expected["part"].tolist()


def test_auto_threads_take_the_cores_free_now(monkeypatch):
    reading = threads._runnable_elsewhere
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    monkeypatch.setattr(threads.time, "monotonic", lambda: 1000.0)  # the clock stands still: the cache holds
    for busy, free in ((0.0, 4), (1.2, 3), (2.6, 1), (9.0, 1)):
        monkeypatch.setattr(threads, "_runnable_elsewhere", lambda busy=busy: busy)
        monkeypatch.setattr(threads, "_free_cores_cache", [-math.inf, 1])
        assert threads.free_cores() == free == threads.resolve_threads("auto")
    monkeypatch.setattr(threads, "_runnable_elsewhere", lambda: 0.0)
    assert threads.free_cores() == 1  # the answer is kept for a second
    monkeypatch.setattr(threads, "_free_cores_cache", [-math.inf, 1])
    monkeypatch.setattr(threads, "_runnable_elsewhere", lambda: None)  # no runnable count: the load average
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (2.0, 0.0, 0.0))
    assert threads.free_cores() == 2
    if sys.platform.startswith("linux"):
        assert 0 <= reading() < 10_000
