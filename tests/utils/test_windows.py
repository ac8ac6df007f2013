"""make_windows and series_to_supervised against hand-written expected arrays and tables."""

import sys

import numpy as np
import pytest

import lstmkit.utils.np_utils
from lstmkit.utils import make_windows, series_to_supervised, to_categorical


# ------------------------------------------------------------------------------------------- make_windows
def test_univariate_one_step():
    X, y = make_windows(np.arange(6), lookback=3)
    np.testing.assert_array_equal(X, [[[0], [1], [2]], [[1], [2], [3]], [[2], [3], [4]]])
    np.testing.assert_array_equal(y, [[3], [4], [5]])
    assert X.shape == (3, 3, 1) and y.shape == (3, 1)


def test_univariate_horizon_and_stride():
    X, y = make_windows([0, 1, 2, 3, 4, 5, 6, 7], lookback=3, horizon=2, stride=2)
    np.testing.assert_array_equal(X, [[[0], [1], [2]], [[2], [3], [4]]])
    np.testing.assert_array_equal(y, [[3, 4], [5, 6]])


def test_multivariate_all_features_and_one_target():
    series = np.array([[0, 10], [1, 11], [2, 12], [3, 13], [4, 14]])
    X, y = make_windows(series, lookback=2)
    np.testing.assert_array_equal(X, [[[0, 10], [1, 11]], [[1, 11], [2, 12]], [[2, 12], [3, 13]]])
    np.testing.assert_array_equal(y, [[[2, 12]], [[3, 13]], [[4, 14]]])
    assert y.shape == (3, 1, 2)
    X1, y1 = make_windows(series, lookback=2, horizon=2, target_column=1)
    np.testing.assert_array_equal(X1, X[:2])
    np.testing.assert_array_equal(y1, [[12, 13], [13, 14]])
    np.testing.assert_array_equal(make_windows(series, 2, target_column=-1)[1], [[12], [13], [14]])


def test_dataframe_column_by_name():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"temp": [1.0, 2.0, 3.0, 4.0], "load": [5.0, 6.0, 7.0, 8.0]})
    X, y = make_windows(frame, lookback=3, target_column="load")
    np.testing.assert_array_equal(X, [[[1.0, 5.0], [2.0, 6.0], [3.0, 7.0]]])
    np.testing.assert_array_equal(y, [[8.0]])
    with pytest.raises(ValueError, match=r"Unknown target_column: 'lod'\. Did you mean 'load'\?"):
        make_windows(frame, lookback=3, target_column="lod")


def test_too_short_says_how_many_values():
    with pytest.raises(ValueError) as info:
        make_windows(np.arange(4), lookback=3, horizon=2)
    assert (
        "the series has 4 steps, too short for lookback=3 and horizon=2: one sample needs lookback + horizon "
        "= 5 values."
    ) in str(info.value)


def test_make_windows_argument_errors():
    with pytest.raises(ValueError, match=r"target_column=0 needs a 2-D series .* Drop target_column"):
        make_windows(np.arange(9), 2, target_column=0)
    with pytest.raises(
        ValueError,
        match=r"target_column=2 is out of range for a series of 2 features "
        r"\(positions 0\.\.1\)",
    ):
        make_windows(np.zeros((9, 2)), 2, target_column=2)
    with pytest.raises(TypeError, match=r"target_column must be a column position \(int\)"):
        make_windows(np.zeros((9, 2)), 2, target_column="a")
    with pytest.raises(
        ValueError,
        match=r"series must be 1-D \(T,\) or 2-D \(T, features\); received shape "
        r"\(4, 3, 1\)\. It already looks windowed",
    ):
        make_windows(np.zeros((4, 3, 1)), 2)
    with pytest.raises(
        ValueError, match=r"make_windows: lookback must be a positive integer\. Received: lookback=0"
    ):
        make_windows(np.arange(9), 0)
    with pytest.raises(TypeError, match=r"non-numeric values; drop or convert those columns"):
        make_windows(np.array(["a", "b", "c"]), 1)


# ------------------------------------------------------------------------------------ series_to_supervised
def test_supervised_one_lag():
    pytest.importorskip("pandas")
    table = series_to_supervised([1, 2, 3, 4, 5])
    assert list(table.columns) == ["var1(t-1)", "var1(t)"]
    assert list(table.index) == [1, 2, 3, 4]
    np.testing.assert_array_equal(table.to_numpy(), [[1, 2], [2, 3], [3, 4], [4, 5]])


def test_supervised_two_variables_lags_and_leads():
    pytest.importorskip("pandas")
    table = series_to_supervised(np.array([[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]]), n_in=2, n_out=2)
    assert list(table.columns) == [
        "var1(t-2)",
        "var2(t-2)",
        "var1(t-1)",
        "var2(t-1)",
        "var1(t)",
        "var2(t)",
        "var1(t+1)",
        "var2(t+1)",
    ]
    np.testing.assert_array_equal(
        table.to_numpy(), [[1, 10, 2, 20, 3, 30, 4, 40], [2, 20, 3, 30, 4, 40, 5, 50]]
    )
    assert list(table.index) == [2, 3]


def test_supervised_keeps_nan_rows_and_dataframe_index():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"sales": [1.0, 2.0, 3.0]}, index=pd.date_range("2024-01-01", periods=3))
    table = series_to_supervised(frame, n_in=1, n_out=2, dropnan=False)
    assert list(table.columns) == ["var1(t-1)", "var1(t)", "var1(t+1)"]
    np.testing.assert_array_equal(table.to_numpy(), [[np.nan, 1, 2], [1, 2, 3], [2, 3, np.nan]])
    assert table.index.equals(frame.index)
    assert list(frame.columns) == ["sales"]  # the input is not renamed in place
    table = series_to_supervised(pd.Series([1, 2, 3]), n_in=0, n_out=2)
    assert list(table.columns) == ["var1(t)", "var1(t+1)"]
    np.testing.assert_array_equal(table.to_numpy(), [[1, 2], [2, 3]])


def test_supervised_errors():
    pytest.importorskip("pandas")
    with pytest.raises(ValueError, match=r"n_in and n_out are both 0"):
        series_to_supervised([1, 2], n_in=0, n_out=0)
    with pytest.raises(
        ValueError,
        match=r"data has 3 rows, too few for n_in=2 and n_out=2: a complete row needs "
        r"n_in \+ n_out = 4 steps",
    ):
        series_to_supervised([1, 2, 3], n_in=2, n_out=2)
    with pytest.raises(ValueError, match=r"n_in must be an integer >= 0"):
        series_to_supervised([1, 2, 3], n_in=-1)
    with pytest.raises(ValueError, match=r"data must be 1-D \(T,\) or 2-D"):
        series_to_supervised(np.zeros((3, 2, 2)))


def test_supervised_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(
        ImportError, match=r"series_to_supervised needs pandas\. Install it with `pip install pandas`"
    ):
        series_to_supervised([1, 2, 3])


def test_keras2_np_utils_path():
    assert lstmkit.utils.np_utils.to_categorical is to_categorical
