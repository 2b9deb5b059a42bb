"""tabae.dask: lazy impute / score / sample with correct meta, equal to the single-process results."""

import pickle
import sys

import numpy as np
import pandas as pd
import pytest

import tabae
from tests.conftest import make_mixed, with_holes

dd = pytest.importorskip("dask.dataframe", reason="dask is not installed (pip install 'tabae[dask]')")
tdask = pytest.importorskip("tabae.dask")

SMALL = dict(hidden_dims=(32, 32), latent_dim=4, epochs=2, batch_size=128, verbose=False, random_state=0)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    df = with_holes(make_mixed(400), 0.1)
    path = tmp_path_factory.mktemp("dask") / "m.tabae"
    tabae.DenoisingAE(mask_rate=0.3, **SMALL).fit(df).save(path)
    return df, path, tabae.load(path)


def test_impute_and_score_equal_one_process_with_correct_meta(fitted):
    df, path, model = fitted
    ddf = dd.from_pandas(df.assign(id=np.arange(len(df))), npartitions=5)
    filled = tdask.impute(ddf, path)
    got = filled.compute(scheduler="sync")
    pd.testing.assert_frame_equal(got.drop(columns="id"), model.impute(df))
    assert got["id"].tolist() == list(range(len(df)))
    assert (filled._meta.dtypes == got.dtypes).all()

    scores = tdask.score(ddf, path, keep=["id"])
    got = scores.compute(scheduler="sync")
    assert list(got.columns) == ["id", "score", "top_column"] and (scores._meta.dtypes == got.dtypes).all()
    assert np.array_equal(got["score"].to_numpy(), model.decision_function(df).to_numpy())
    assert got["top_column"].tolist() == model.decision_function(df, per_column=True).idxmax(axis=1).tolist()
    with pytest.raises(tabae.SchemaError, match="--keep"):
        tdask.score(ddf, path)  # the id column is extra unless kept


def test_a_detector_scores_on_dask_as_it_does_in_one_process(fitted):
    df, *_ = fitted
    det = tabae.AEOutlierDetector(tabae.Autoencoder(**SMALL), random_state=0).fit(df)
    ddf = dd.from_pandas(df, npartitions=4)
    got = tdask.score(ddf, det).compute(scheduler="sync")
    np.testing.assert_array_equal(got["score"].to_numpy(), det.decision_function(df))
    why = det.explain(df)
    expected = why.idxmax(axis=1).where(why.to_numpy().any(axis=1))  # null: nothing to blame
    assert got["top_column"].fillna("-").tolist() == expected.fillna("-").tolist()
    assert got["top_column"].isna().tolist() == (got["score"] == 0).tolist()


def test_the_model_travels_as_file_bytes(fitted):
    _, path, model = fitted
    blob = tdask.ModelBlob.from_model(path)
    assert blob.data == path.read_bytes()
    assert pickle.loads(pickle.dumps(blob)).data == blob.data  # bytes only, no torch module
    assert b"torch" not in pickle.dumps(blob)
    assert tdask.ModelBlob.from_model(model).load().encoder_.schema_ == model.encoder_.schema_
    with pytest.raises(tabae.ModelFileError):
        tdask.ModelBlob.from_model(__file__)


def test_sample_partitions(tmp_path):
    df = with_holes(make_mixed(300), 0.1)
    vae = tabae.TabularVAE(**SMALL).fit(df)
    rows = tdask.sample(vae, 250, npartitions=3, random_state=0)
    got = rows.compute(scheduler="sync")
    assert rows.npartitions == 3 and len(got) == 250 and got.index.tolist() == list(range(250))
    assert (rows._meta.dtypes == got.dtypes).all() and list(got.columns) == list(df.columns)
    again = tdask.sample(vae, 250, npartitions=3, random_state=0).compute(scheduler="sync")
    pd.testing.assert_frame_equal(got, again)
    # the same rows as one process makes, however many partitions
    single = vae.sample(250, random_state=0).astype(got.dtypes.to_dict())
    pd.testing.assert_frame_equal(got, single)
    other = tdask.sample(vae, 250, npartitions=5, random_state=0).compute(scheduler="sync")
    pd.testing.assert_frame_equal(other, got)


def test_missing_dask_says_how_to_install(fitted, monkeypatch):
    _, path, _ = fitted
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(tabae.TabaeError, match=r"pip install 'tabae\[dask\]'"):
        tdask.impute(None, path)


def test_on_a_local_cluster_of_two_processes(fitted):
    distributed = pytest.importorskip("distributed")
    df, path, model = fitted
    try:
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=50)
    except Exception as err:  # sandboxes without sockets or process spawning
        pytest.skip(f"dask.distributed cannot start a LocalCluster here: {type(err).__name__}: {err}")
    with cluster, distributed.Client(cluster) as client:
        ddf = dd.from_pandas(df, npartitions=4)
        scores = tdask.score(ddf, path).compute()
        filled = tdask.impute(ddf, path).compute()
        workers = client.run(lambda: __import__("torch").get_num_threads())
    assert np.array_equal(scores["score"].to_numpy(), model.decision_function(df).to_numpy())
    pd.testing.assert_frame_equal(filled, model.impute(df))
    assert len(workers) == 2
