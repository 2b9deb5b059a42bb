"""Fitting on an input larger than memory: a sample in memory, training batches streamed."""

import os

import numpy as np
import pandas as pd
import pytest
import torch

import tabae
from tabae.batch import fit_stream, open_source, sample_with_positions
from tabae.batch.training_stream import RowStream, input_pieces
from tabae.cli import main
from tabae.encoding import TableEncoder


def _write(path, n=12_000, row_group_size=2_500, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    df = pd.DataFrame({
        "pos": np.arange(n, dtype=float),
        "x": x,
        "y": 2 * x + 0.1 * rng.normal(size=n),
        "c": np.where(x > 0, "up", "down"),
    })
    df.to_parquet(path, row_group_size=row_group_size)
    return df


def test_the_pieces_are_the_row_groups_at_their_positions(tmp_path):
    _write(tmp_path / "t.parquet", n=7_000, row_group_size=3_000)
    pieces = input_pieces(open_source(tmp_path / "t.parquet"))
    assert [(offset, sum(g.num_rows for g in piece.row_groups)) for piece, offset in pieces] == [
        (0, 3_000), (3_000, 3_000), (6_000, 1_000)]


def test_one_pass_of_the_stream_is_every_row_but_the_validation_rows_once(tmp_path):
    df = _write(tmp_path / "t.parquet", n=5_000, row_group_size=700)
    source = open_source(tmp_path / "t.parquet")
    sample, positions, n_rows = sample_with_positions(source, 1_000, random_state=3, batch_size=512)
    assert n_rows == len(df) and np.array_equal(sample["pos"].to_numpy(), positions)
    encoder = TableEncoder(numeric="standard").fit(sample)
    val_idx = torch.arange(0, 1_000, 5)  # 200 sample rows held out
    stream = RowStream(source, encoder, positions, seed=0, read_rows=512, buffer_rows=1_500)
    batches = stream(val_idx, 100, "cpu")
    n_pass = (len(df) - len(val_idx)) // 100
    rows = torch.cat([next(batches)[0] for _ in range(n_pass)])
    # The standard code is linear in the value: read the positions back through it (decoding
    # would clip to the sample's range).
    codes = encoder.transform(sample)[0][:, 0]
    slope, intercept = np.polyfit(codes, sample["pos"].to_numpy(), 1)
    seen = np.sort(np.round(rows[:, 0].numpy() * slope + intercept))
    expected = np.setdiff1d(np.arange(len(df)), positions[val_idx.numpy()])
    assert np.array_equal(seen, expected)
    # rows of several row groups are mixed in a batch (a shuffled stream, not file order)
    first = np.round(rows[:100, 0].numpy() * slope + intercept)
    assert len(np.unique(first // 700)) > 1


def test_a_csv_folder_streams_every_row_once_with_its_partition_values(tmp_path):
    df = _write(tmp_path / "t.parquet", n=3_000)
    for part, rows in (("a", slice(0, 1_800)), ("b", slice(1_800, None))):
        (tmp_path / "csv" / f"part={part}").mkdir(parents=True)
        df.iloc[rows].to_csv(tmp_path / "csv" / f"part={part}" / "data.csv", index=False)
    source = open_source(tmp_path / "csv")
    assert [offset for _, offset in input_pieces(source)] == [0, 1_800]
    sample, positions, _ = sample_with_positions(source, 600, random_state=1, batch_size=256)
    encoder = TableEncoder(numeric="standard").fit(sample)
    assert "part" in encoder.schema_.names
    val_idx = torch.arange(0, 600, 4)
    stream = RowStream(source, encoder, positions, seed=0, read_rows=256, buffer_rows=1_000)
    batches = stream(val_idx, 50, "cpu")
    rows = torch.cat([next(batches)[0] for _ in range((len(df) - len(val_idx)) // 50)])
    codes = encoder.transform(sample)[0][:, 0]
    slope, intercept = np.polyfit(codes, sample["pos"].to_numpy(), 1)
    seen = np.sort(np.round(rows[:, 0].numpy() * slope + intercept))
    assert np.array_equal(seen, np.setdiff1d(np.arange(len(df)), positions[val_idx.numpy()]))


def test_a_streamed_fit_learns_the_table_and_is_reproducible(tmp_path):
    df = _write(tmp_path / "t.parquet")
    fits = [fit_stream(tabae.DenoisingAE(epochs=15, random_state=0, verbose=False), tmp_path / "t.parquet",
                       sample_rows=2_000, batch_size=1_000, buffer_rows=3_000) for _ in range(2)]
    for a, b in zip(fits[0].net_.state_dict().values(), fits[1].net_.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    holes = df.head(500).copy()
    holes.loc[::2, "y"] = np.nan
    filled = fits[0].impute(holes)
    err = (filled.loc[::2, "y"] - df.head(500).loc[::2, "y"]).abs().mean()
    assert err < 0.5, err  # y = 2x: a model that learnt nothing errs by ~1.6


def test_a_small_input_is_fitted_in_memory(tmp_path):
    df = _write(tmp_path / "t.parquet", n=800)
    streamed = fit_stream(tabae.Autoencoder(epochs=3, random_state=0, verbose=False), tmp_path / "t.parquet")
    direct = tabae.Autoencoder(epochs=3, random_state=0, verbose=False).fit(df)
    for a, b in zip(streamed.net_.state_dict().values(), direct.net_.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_fit_stream_refuses_bad_sizes(tmp_path):
    _write(tmp_path / "t.parquet", n=100)
    with pytest.raises(tabae.TabaeError, match="sample_rows"):
        fit_stream(tabae.Autoencoder(), tmp_path / "t.parquet", sample_rows=0)


def test_the_fit_command_streams_an_input_larger_than_its_sample(tmp_path, capsys):
    folder = tmp_path / "big"
    folder.mkdir()
    for part in range(3):
        _write(folder / f"part-{part}.parquet", n=2_000, seed=part)
    out = tmp_path / "m.tabae"
    assert main(["fit", str(folder), "-o", str(out), "--model", "dae", "--epochs", "3",
                 "--sample-rows", "1500", "--batch-size", "1000", "--quiet"]) == 0
    assert "training streamed 6,000 rows" in capsys.readouterr().out
    assert tabae.load(out).n_features_in_ == 4
    assert sorted(os.listdir(tmp_path)) == ["big", "m.tabae"]  # nothing else left behind
