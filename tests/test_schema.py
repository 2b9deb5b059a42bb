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
        (pd.DataFrame(), "no columns"),
        (pd.DataFrame(index=range(5)), "no columns"),
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


# ---------------------------------------------------------------------- what a model file can hold
def test_values_json_lacks_round_trip_exactly():
    import datetime
    import decimal
    import json

    from tabae.jsonvalues import from_json_value, round_trips, to_json_value

    values = [
        "x", 3, 2.5, True, None, np.int8(4), np.float32(0.5), np.bool_(False), np.datetime64("2020-01-01T10:00"),
        pd.Timestamp("2021-06-01 12:34:56.123456789"), pd.Timestamp("2021-06-01", tz="Europe/Oslo").as_unit("s"),
        pd.Timestamp("2021-06-01 10:00+05:30"), pd.Timedelta(90, unit="s"), datetime.date(2020, 2, 29),
        datetime.datetime(2020, 2, 29, 13, 5), decimal.Decimal("1.10"), pd.Interval(0.5, 1.5, closed="left"),
        pd.Interval(pd.Timestamp("2020-01-01"), pd.Timestamp("2020-02-01")), pd.Period("2020-03", freq="M"),
    ]
    for value in values:
        assert round_trips(value), value
        back = from_json_value(json.loads(json.dumps(to_json_value(value))))
        assert back == value or (value is None and back is None)
    for value in [b"raw", 1 + 2j, (1, 2), object(), decimal.Decimal("NaN")]:
        assert not round_trips(value), value


def test_category_specs_round_trip_through_json():
    import json

    df = pd.DataFrame({
        "when": pd.Categorical(pd.to_datetime(["2024-01-01", "2024-02-01", None]).as_unit("s")),
        "local": pd.Categorical(pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01"])).dt.tz_localize("Asia/Tokyo")),
        "small": pd.Categorical(np.array([1, 2, 1], dtype=np.int8), ordered=True),
        "bins": pd.cut([0.1, 0.5, 0.9], [0, 0.5, 1]),
    })
    schema = TableSchema.infer(df)
    again = TableSchema.from_dict(json.loads(json.dumps(schema.to_dict(), allow_nan=False)))
    assert again == schema
    for col in df.columns:
        assert again[col].pandas_dtype() == df[col].dtype, col  # categories' dtype and unit included


def test_what_cannot_be_saved_is_refused_at_infer():
    frame = pd.DataFrame({"raw": pd.Series([b"a", b"b"], dtype=object)})
    with pytest.raises(SchemaError, match="column 'raw': the value b'a'"):
        TableSchema.infer(frame, kinds={"raw": "categorical"})
    weird = pd.DataFrame({"c": pd.Categorical([1 + 1j, 2 + 0j])})
    with pytest.raises(SchemaError, match="column 'c'"):
        TableSchema.infer(weird)
    TableSchema.infer(pd.DataFrame({"a": [1.0], "b": ["x"]})).check_serialisable()  # plain columns pass
