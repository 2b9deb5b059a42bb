import numpy as np
import pandas as pd
import pytest

import tabae
from tabae import SchemaError, TableSchema


def test_infers_kinds_from_dtypes():
    df = pd.DataFrame({
        "f": [1.5, 2.0], "i": [1, 2], "I": pd.array([1, None], dtype="Int64"),
        "s": ["a", "b"], "c": pd.Categorical(["x", "y"]), "b": [True, False],
        "B": pd.array([True, None], dtype="boolean"), "d": pd.to_datetime(["2024-01-01", "2024-02-01"]),
        "o": pd.Series(["u", None], dtype=object),
    })
    kinds = {c.name: c.kind for c in TableSchema.infer(df)}
    assert kinds == {"f": "numeric", "i": "integer", "I": "integer", "s": "categorical", "c": "categorical",
                     "b": "boolean", "B": "boolean", "d": "datetime", "o": "categorical"}


def test_overrides_and_json_round_trip():
    df = pd.DataFrame({"zip": [1001, 1002, 1001], "v": [0.1, 0.2, 0.3]})
    schema = TableSchema.infer(df, kinds={"zip": "categorical"})
    assert schema["zip"].kind == "categorical"
    assert TableSchema.from_dict(schema.to_dict()) == schema


@pytest.mark.parametrize(
    "frame, fragment",
    [
        (pd.DataFrame({"a": []}), "no rows"),
        (pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, np.nan]}), "'b' is entirely missing"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate column names"),
        (pd.DataFrame({0: [1.0], 1: [2.0]}), "column names must be strings"),
        (pd.DataFrame({"a": [1.0, np.inf]}), "'a' contains infinite values"),
        (pd.DataFrame({"a": pd.Series(["x", 1], dtype=object)}), "'a' is an object column of mixed"),
        (pd.DataFrame({"t": pd.to_timedelta([1, 2], unit="s")}), "'t' has dtype timedelta64"),
    ],
)
def test_bad_frames_name_the_problem(frame, fragment):
    with pytest.raises(SchemaError, match=fragment):
        TableSchema.infer(frame)


def test_non_frame_input():
    with pytest.raises(tabae.TabaeError, match="must be a pandas DataFrame"):
        TableSchema.infer(np.zeros((3, 2)))


def test_validate_catches_missing_extra_and_retyped_columns():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    schema = TableSchema.infer(df)
    with pytest.raises(SchemaError, match=r"\['b'\] were seen at fit but are missing"):
        schema.validate(df[["a"]])
    with pytest.raises(SchemaError, match=r"\['c'\] were not seen at fit"):
        schema.validate(df.assign(c=1))
    with pytest.raises(SchemaError, match="'a' has dtype (str|object), but it was numeric"):
        schema.validate(df.assign(a=["1", "2"]))
    assert list(schema.validate(df[["b", "a"]]).columns) == ["a", "b"]


def test_unknown_kind_override():
    with pytest.raises(SchemaError, match="unknown kind"):
        TableSchema.infer(pd.DataFrame({"a": [1.0]}), kinds={"a": "text"})
    with pytest.raises(SchemaError, match="not in the frame"):
        TableSchema.infer(pd.DataFrame({"a": [1.0]}), kinds={"zz": "numeric"})
