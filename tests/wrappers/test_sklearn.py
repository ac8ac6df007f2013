"""scikit-learn wrappers, Keras 2 and Keras 3 forms, on LSTM models inside scikit-learn's tools.

The tasks are built so that one setting of each grid is clearly the best: a learning rate of 1e-5 cannot
move the weights in a few dozen epochs, 1e-2 can; 40 epochs learn what 1 or 2 cannot. Scores are checked
against NumPy / scikit-learn computations on the wrapper's own predictions.
"""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from lstmkit.layers import LSTM, Dense
from lstmkit.models import Sequential
from lstmkit.optimizers import Adam
from lstmkit.wrappers import SKLearnClassifier, SKLearnRegressor
from lstmkit.wrappers.scikit_learn import KerasClassifier, KerasRegressor

TIMESTEPS = 6


def _sequences(n=160, seed=0):
    return np.random.default_rng(seed).standard_normal((n, TIMESTEPS, 1)).astype("float32")


def _first_value_labels(X):
    """'up', 'down' or 'flat' from the first value: string labels, three classes, which the LSTM can only
    tell by carrying the first value through five more steps (a random, untrained one cannot)."""
    first = X[:, 0, 0]
    return np.where(first > 0.5, "up", np.where(first < -0.5, "down", "flat"))


# ---------------------------------------------------------------------- Keras 2: KerasRegressor
def create_regressor(units=8, learning_rate=0.01):
    model = Sequential([LSTM(units, input_shape=(TIMESTEPS, 1)), Dense(1)])
    model.compile(optimizer=Adam(learning_rate=learning_rate), loss="mse")
    return model


def test_grid_search_with_keras2_regressor_picks_the_better_setting():
    X = _sequences()
    y = 3.0 * X.mean(axis=(1, 2))  # the scaled mean of the sequence
    estimator = KerasRegressor(build_fn=create_regressor, epochs=2, batch_size=32, verbose=0)
    search = GridSearchCV(estimator, {"learning_rate": [1e-5, 1e-2], "epochs": [2, 40]}, cv=2)
    search.fit(X, y)
    assert search.best_params_ == {"learning_rate": 1e-2, "epochs": 40}
    scores = np.sort(search.cv_results_["mean_test_score"])  # minus the mse: higher is better
    assert scores[-1] > -0.15 and scores[-2] < scores[-1] - 0.5
    best = search.best_estimator_
    prediction = best.predict(X)
    assert prediction.shape == y.shape
    np.testing.assert_allclose(best.score(X, y), -np.mean((prediction - y) ** 2), rtol=1e-4)


# ---------------------------------------------------------------------- Keras 3: SKLearnClassifier
def build_classifier(X, y, units=8, learning_rate=0.01):
    """Keras 3's build function: X as given (3-D), y one-hot (samples, n_classes)."""
    model = Sequential([LSTM(units, input_shape=X.shape[1:]), Dense(y.shape[1], activation="softmax")])
    model.compile(optimizer=Adam(learning_rate=learning_rate), loss="categorical_crossentropy")
    return model


def test_grid_search_with_keras3_classifier_picks_the_better_setting():
    X = _sequences()
    labels = _first_value_labels(X)
    quiet = {"verbose": 0, "batch_size": 32}
    grid = {
        "model_kwargs": [{"learning_rate": 1e-5}, {"learning_rate": 1e-2}],
        "fit_kwargs": [{"epochs": 1, **quiet}, {"epochs": 40, **quiet}],
    }
    search = GridSearchCV(SKLearnClassifier(build_classifier, fit_kwargs=quiet), grid, cv=2)
    search.fit(X, labels)
    assert search.best_params_ == {
        "model_kwargs": {"learning_rate": 1e-2},
        "fit_kwargs": {"epochs": 40, **quiet},
    }
    scores = np.sort(search.cv_results_["mean_test_score"])  # accuracy
    assert scores[-1] > 0.8 and scores[-2] < scores[-1] - 0.3
    best = search.best_estimator_
    assert best.classes_.tolist() == ["down", "flat", "up"]
    predicted = best.predict(X)
    probabilities = best.predict_proba(X)
    assert probabilities.shape == (len(X), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert (best.classes_[probabilities.argmax(axis=1)] == predicted).all()
    assert best.score(X, labels) == accuracy_score(labels, predicted) > 0.85


# ---------------------------------------------------------------------- parameters and cloning
def test_keras2_parameters_get_set_clone_and_reach_the_build_function():
    estimator = KerasRegressor(build_fn=create_regressor, units=3, epochs=1, verbose=0)
    assert estimator.get_params() == {"build_fn": create_regressor, "units": 3, "epochs": 1, "verbose": 0}
    copy = clone(estimator)
    assert copy is not estimator and copy.get_params() == estimator.get_params()
    copy.set_params(units=5, batch_size=4)
    assert estimator.get_params()["units"] == 3  # the clone's parameters are its own
    copy.fit(_sequences(8), np.zeros(8))
    assert copy.model.layers[0].units == 5
    with pytest.raises(ValueError, match="unitz is not a legal parameter.*Did you mean 'units'"):
        KerasRegressor(build_fn=create_regressor, unitz=3)
    with pytest.raises(ValueError, match="not a legal parameter"):
        copy.set_params(unknown=1)


def test_keras3_parameters_get_set_clone():
    estimator = SKLearnRegressor(
        model=create_regressor_xy, model_kwargs={"units": 2}, fit_kwargs={"epochs": 1}
    )
    params = estimator.get_params()
    assert params == {
        "model": create_regressor_xy,
        "warm_start": False,
        "model_kwargs": {"units": 2},
        "fit_kwargs": {"epochs": 1},
    }
    copy = clone(estimator).set_params(model_kwargs={"units": 4})
    copy.fit(_sequences(8), np.zeros(8), verbose=0)  # fit's keywords reach model.fit
    assert copy.model_.layers[0].units == 4 and copy.epoch_ == 1
    assert estimator.get_params()["model_kwargs"] == {"units": 2}


def create_regressor_xy(X, y, units=8):
    return create_regressor(units)


def test_inputs_reach_the_build_function_untouched():
    seen = []

    def build(X, y):
        seen.append(X)
        return create_regressor()

    X = _sequences(10).astype("float64")
    SKLearnRegressor(build, fit_kwargs={"epochs": 1, "verbose": 0}).fit(X, np.zeros(10))
    assert seen[0] is X  # not flattened, not converted: the 3-D float64 array itself


# ---------------------------------------------------------------------- scikit-learn's tools
def create_binary_classifier():
    model = Sequential([LSTM(6, input_shape=(TIMESTEPS, 1)), Dense(1, activation="sigmoid")])
    model.compile(optimizer=Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_cross_val_score_with_keras2_classifier_and_label_strings():
    X = _sequences(120, seed=1)
    labels = np.where(X[:, 0, 0] > 0, "first-high", "first-low")  # needs the first timestep remembered
    estimator = KerasClassifier(build_fn=create_binary_classifier, epochs=30, batch_size=20, verbose=0)
    scores = cross_val_score(estimator, X, labels, cv=KFold(2, shuffle=True, random_state=0))
    assert scores.shape == (2,) and scores.mean() > 0.8
    estimator.fit(X, labels)
    probabilities = estimator.predict_proba(X)
    assert probabilities.shape == (120, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    predicted = estimator.predict(X)
    assert set(predicted) <= {"first-high", "first-low"}
    assert estimator.score(X, labels) == pytest.approx(accuracy_score(labels, predicted), abs=1e-6)


def to_sequences(X):
    return X.reshape(len(X), TIMESTEPS, 1)


def test_pipeline_scales_2d_rows_then_feeds_sequences_to_a_model_instance():
    rows = _sequences(64, seed=2).reshape(64, TIMESTEPS) * 10.0 + 5.0
    y = rows.mean(axis=1)
    template = create_regressor(units=6, learning_rate=0.02)
    before = [w.copy() for w in template.get_weights()]
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("sequences", FunctionTransformer(to_sequences)),
            (
                "lstm",
                SKLearnRegressor(model=template, fit_kwargs={"epochs": 40, "batch_size": 16, "verbose": 0}),
            ),
        ]
    )
    pipeline.fit(rows, y)
    prediction = pipeline.predict(rows)
    assert prediction.shape == (64,)
    assert np.mean((prediction - y) ** 2) < np.var(y)  # it learned something
    assert all((a == b).all() for a, b in zip(template.get_weights(), before))  # the template is not trained
    assert pipeline.named_steps["lstm"].model_ is not template


def test_warm_start_continues_the_fitted_model():
    X, y = _sequences(16), np.zeros(16)
    estimator = SKLearnRegressor(create_regressor_xy, warm_start=True, fit_kwargs={"epochs": 1, "verbose": 0})
    estimator.fit(X, y)
    first = estimator.model_
    estimator.fit(X, y)
    assert estimator.model_ is first
    cold = SKLearnRegressor(create_regressor_xy, fit_kwargs={"epochs": 1, "verbose": 0}).fit(X, y)
    first = cold.model_
    assert cold.fit(X, y).model_ is not first  # without warm_start every fit builds a new model


def test_errors_say_what_to_do():
    X, y = _sequences(8), np.arange(8) % 2
    with pytest.raises(ValueError, match="is not compiled"):
        SKLearnClassifier(lambda X, y: Sequential([LSTM(2), Dense(2)])).fit(X, y)
    with pytest.raises(TypeError, match="must give an lstmkit model"):
        KerasRegressor(build_fn=lambda: "not a model").fit(X, y)
    with pytest.raises(ValueError, match="at least two classes"):
        SKLearnClassifier(build_classifier, fit_kwargs={"verbose": 0}).fit(X, np.zeros(8))
    with pytest.raises(ValueError, match="not configured to compute accuracy"):
        estimator = KerasClassifier(build_fn=lambda: create_regressor(), epochs=1, verbose=0)
        estimator.fit(X, y)
        estimator.score(X, y)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        SKLearnRegressor(create_regressor_xy).predict(X)


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    from lstmkit.wrappers import base

    monkeypatch.setattr(base, "sklearn", None)
    with pytest.raises(ImportError, match=r"pip install 'lstmkit\[sklearn\]'"):
        SKLearnRegressor(create_regressor_xy)


def test_keras2_script_with_keras_wrappers_scikit_learn_runs_under_lstmkit_run(tmp_path, monkeypatch, capsys):
    import sys
    import textwrap

    from lstmkit.run import aliases, run_script

    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    script = tmp_path / "grid.py"
    script.write_text(
        textwrap.dedent(
            """
            import numpy as np
            import keras
            from keras.models import Sequential
            from keras.layers import LSTM, Dense
            from keras.wrappers.scikit_learn import KerasClassifier
            from tensorflow.keras.wrappers.scikit_learn import KerasRegressor
            from sklearn.model_selection import cross_val_score

            assert keras.wrappers.SKLearnClassifier.__name__ == "SKLearnClassifier"

            def create_model():
                model = Sequential()
                model.add(LSTM(4, input_shape=(3, 1)))
                model.add(Dense(1, activation="sigmoid"))
                model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
                return model

            X = np.random.RandomState(0).rand(20, 3, 1)
            y = (X[:, 0, 0] > 0.5).astype(int)
            print("scores", cross_val_score(KerasClassifier(build_fn=create_model, epochs=1, verbose=0), X, y, cv=2))
            """
        )
    )
    try:
        assert run_script(script) == 0, capsys.readouterr().err
    finally:
        aliases.uninstall()
    assert "scores [" in capsys.readouterr().out
