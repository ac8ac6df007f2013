"""Every bad input gets an error that says what was received, what was expected, and how to fix it."""

import numpy as np
import pytest

import lstmkit
from lstmkit.layers import LSTM, Dense
from lstmkit.models import Sequential


def _compiled(*layers, loss="mse"):
    model = Sequential(list(layers))
    model.compile(optimizer="adam", loss=loss)
    return model


def test_2d_data_into_lstm_prints_both_reshapes():
    X = np.random.default_rng(0).uniform(size=(1199, 11))
    model = _compiled(LSTM(4), Dense(1))
    with pytest.raises(ValueError) as info:
        model.fit(X, X[:, 0], verbose=0)
    message = str(info.value)
    assert "(1199, 11)" in message and "(samples, timesteps, features)" in message
    assert "X.reshape((1199, 11, 1))" in message and "X.reshape((1199, 1, 11))" in message


def test_2d_data_with_declared_shape_names_the_matching_reshape():
    model = _compiled(LSTM(4, input_shape=(11, 1)), Dense(1))
    with pytest.raises(
        ValueError, match=r"declared with input_shape=\(11, 1\), so use X = X.reshape\(\(50, 11, 1\)\)"
    ):
        model.predict(np.zeros((50, 11)), verbose=0)


def test_one_dimensional_input_shape_on_lstm_is_refused_at_add():
    # The reader's case: LSTM(11, input_shape=(11,), return_sequences=True).
    with pytest.raises(ValueError) as info:
        Sequential([LSTM(11, input_shape=(11,), return_sequences=True)])
    message = str(info.value)
    assert "expects 3-D input" in message and "(None, 11)" in message
    assert "input_shape=(11, 1)" in message and "X.reshape((len(X), 11, 1))" in message
    assert "input_shape=(1, 11)" in message


def test_data_disagreeing_with_input_shape():
    model = _compiled(LSTM(4, input_shape=(1, 1)), Dense(1))
    with pytest.raises(ValueError) as info:
        model.fit(np.zeros((5, 2, 1)), np.zeros(5), verbose=0)
    message = str(info.value)
    assert "(None, 1, 1)" in message and "(5, 2, 1)" in message and "input_shape=(2, 1)" in message


def test_stacked_lstm_without_return_sequences_suggests_it():
    with pytest.raises(ValueError) as info:
        Sequential([LSTM(4, input_shape=(3, 1)), LSTM(3), Dense(1)])
    message = str(info.value)
    assert "expects 3-D input" in message and "(None, 4)" in message
    assert "set return_sequences=True on 'lstm" in message


def test_return_sequences_before_dense_with_2d_targets():
    model = _compiled(LSTM(4, input_shape=(3, 1), return_sequences=True, name="encoder"), Dense(1))
    with pytest.raises(ValueError) as info:
        model.fit(np.zeros((5, 3, 1)), np.zeros((5, 1)), verbose=0)
    message = str(info.value)
    assert "(None, 3, 1)" in message and "(5, 1)" in message
    assert "'encoder' has return_sequences=True" in message and "(5, 3, 1)" in message


def test_different_sample_counts():
    model = _compiled(LSTM(4, input_shape=(3, 1)), Dense(1))
    with pytest.raises(ValueError, match=r"x has 5 \(shape \(5, 3, 1\)\), y has 4 \(shape \(4, 1\)\)"):
        model.fit(np.zeros((5, 3, 1)), np.zeros((4, 1)), verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_reports_count_and_first_index(bad):
    x = np.zeros((5, 3, 1))
    x[2, 1, 0] = bad
    x[4, 0, 0] = bad
    model = _compiled(LSTM(4, input_shape=(3, 1)), Dense(1))
    with pytest.raises(
        ValueError, match=r"x contains 2 NaN or infinite value\(s\); the first is .* at index \(2, 1, 0\)"
    ):
        model.fit(x, np.zeros(5), verbose=0)
    y = np.zeros(5)
    y[3] = bad
    with pytest.raises(ValueError, match=r"y contains 1 NaN .* index \(3,\).*dropna"):
        model.fit(np.zeros((5, 3, 1)), y, verbose=0)


def test_non_numeric_dtypes():
    model = _compiled(LSTM(4, input_shape=(3, 1)), Dense(1))
    with pytest.raises(
        TypeError, match=r"x has dtype <U1 \(strings\).*'a'.*np.asarray\(x, dtype='float32'\)"
    ):
        model.fit(np.full((5, 3, 1), "a"), np.zeros(5), verbose=0)
    with pytest.raises(TypeError, match=r"y has dtype object \(Python objects\)"):
        model.fit(np.zeros((2, 3, 1)), np.array([None, 1.0], dtype=object), verbose=0)


def test_non_numeric_dataframe_columns_are_named():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"value": [1.0, 2.0], "label": ["up", "down"]})
    model = _compiled(Dense(1, input_dim=2))
    with pytest.raises(TypeError, match=r"non-numeric column\(s\) 'label' \((object|str)\)"):
        model.fit(frame, np.zeros(2), verbose=0)


def test_empty_arrays():
    model = _compiled(LSTM(4, input_shape=(3, 1)), Dense(1))
    with pytest.raises(ValueError, match=r"x is empty \(shape \(0, 3, 1\)\)"):
        model.fit(np.zeros((0, 3, 1)), np.zeros((0, 1)), verbose=0)


def test_ragged_lists_suggest_pad_sequences():
    model = _compiled(Dense(1, input_dim=3))
    with pytest.raises(ValueError, match=r"different lengths \(2, 3\).*pad_sequences"):
        model.fit([[1, 2], [1, 2, 3]], [0, 1], verbose=0)


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"batch_size": 0}, r"batch_size must be a positive integer.*Received: batch_size=0"),
        ({"batch_size": 2.5}, r"batch_size must be a positive integer.*Received: batch_size=2.5"),
        ({"epochs": -1}, r"epochs must be an integer >= 0. Received: epochs=-1"),
        ({"verbose": 3}, r"verbose must be 0, 1, 2 or 'auto'. Received: verbose=3"),
        ({"validation_split": 1.5}, r"validation_split must be in \[0, 1\)"),
    ],
)
def test_bad_fit_arguments(kwargs, pattern):
    model = _compiled(LSTM(4, input_shape=(3, 1)), Dense(1))
    with pytest.raises(ValueError, match=pattern):
        model.fit(np.zeros((5, 3, 1)), np.zeros(5), **kwargs)


@pytest.mark.parametrize("action", ["fit", "evaluate"])
def test_fit_or_evaluate_before_compile(action):
    model = Sequential([LSTM(4, input_shape=(3, 1)), Dense(1)])
    with pytest.raises(
        RuntimeError, match=rf"compile the model before calling {action}\(\).*model.compile\("
    ):
        getattr(model, action)(np.zeros((5, 3, 1)), np.zeros(5))


@pytest.mark.parametrize(
    "make,pattern",
    [
        (
            lambda: _compiled(Dense(1, input_dim=1)).compile("adma", "mse"),
            r"Unknown optimizer: 'adma'. Did you mean 'adam'",
        ),
        (
            lambda: _compiled(Dense(1, input_dim=1)).compile("adam", "mean_sqared_error"),
            r"Unknown loss: 'mean_sqared_error'. Did you mean 'mean_squared_error'\?",
        ),
        (
            lambda: _compiled(Dense(1, input_dim=1)).compile("adam", "mse", metrics=["acuracy"]),
            r"Unknown metric: 'acuracy'. Did you mean 'accuracy'",
        ),
        (lambda: Dense(1, activation="sigmod"), r"Unknown activation: 'sigmod'. Did you mean 'sigmoid'"),
        (
            lambda: Dense(1, kernel_initializer="glorot_unifrom"),
            r"Unknown initializer: 'glorot_unifrom'. Did you mean 'glorot_uniform'\?",
        ),
    ],
)
def test_unknown_names_list_the_closest_valid_ones(make, pattern):
    with pytest.raises(ValueError, match=pattern) as info:
        make()
    assert "Valid " in str(info.value)


@pytest.mark.parametrize(
    "make,pattern",
    [
        (
            lambda: LSTM(4, retrun_sequences=True),
            r"LSTM got an unexpected keyword argument 'retrun_sequences'. Did you mean 'return_sequences'\?",
        ),
        (lambda: Dense(4, activaton="relu"), r"'activaton'. Did you mean 'activation'\?"),
        (
            lambda: lstmkit.optimizers.Adam(learnig_rate=0.1),
            r"'learnig_rate'. Did you mean 'learning_rate'\?",
        ),
        (
            lambda: _compiled(Dense(1, input_dim=1)).fit(np.zeros((2, 1)), np.zeros(2), verbos=0),
            r"fit got an unexpected keyword argument 'verbos'. Did you mean 'verbose'\?",
        ),
        (
            lambda: _compiled(Dense(1, input_dim=1)).compile("adam", "mse", metric=["mae"]),
            r"compile got an unexpected keyword argument 'metric'. Did you mean 'metrics'",
        ),
    ],
)
def test_unknown_keyword_arguments_are_type_errors(make, pattern):
    with pytest.raises(TypeError, match=pattern):
        make()


def test_wrong_label_encodings_for_crossentropies():
    x = np.zeros((4, 2, 1))
    softmax = _compiled(
        LSTM(3, input_shape=(2, 1)), Dense(3, activation="softmax"), loss="categorical_crossentropy"
    )
    with pytest.raises(
        ValueError, match=r"class indices.*sparse_categorical_crossentropy.*to_categorical\(y, 3\)"
    ):
        softmax.fit(x, np.array([0, 1, 2, 1]), verbose=0)
    sparse = _compiled(
        LSTM(3, input_shape=(2, 1)), Dense(3, activation="softmax"), loss="sparse_categorical_crossentropy"
    )
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\].*from 0 to 3"):
        sparse.fit(x, np.array([0, 1, 3, 1]), verbose=0)
    binary = _compiled(
        LSTM(3, input_shape=(2, 1)), Dense(1, activation="sigmoid"), loss="binary_crossentropy"
    )
    with pytest.raises(ValueError, match=r"targets in \[0, 1\].*from -1 to 1"):
        binary.fit(x, np.array([-1, 1, 1, -1]), verbose=0)


def test_errors_subclass_the_standard_exceptions():
    from lstmkit.layers import InputShapeError
    from lstmkit.training.data import DataShapeError

    assert issubclass(InputShapeError, ValueError) and issubclass(DataShapeError, ValueError)


def test_set_weights_with_wrong_shapes_lists_the_expected_ones():
    layer = Dense(2)
    layer.ensure_built((None, 3))
    with pytest.raises(ValueError, match=r"kernel' has shape \(3, 2\); received an array of shape \(2, 3\)"):
        layer.set_weights([np.zeros((2, 3)), np.zeros(2)])
    with pytest.raises(ValueError, match=r"has 2 weight arrays \[kernel \(3, 2\), bias \(2,\)\]; received 1"):
        layer.set_weights([np.zeros((3, 2))])


def test_adding_a_class_instead_of_a_layer():
    with pytest.raises(TypeError, match=r"received the class LSTM. Call it with its arguments"):
        Sequential().add(LSTM)
