"""Keras's own model files load in lstmkit and compute what Keras computed.

Every file here was written by real Keras (Keras 3.15 ``.keras`` and legacy ``.h5``, tf.keras 2.21 ``.h5``;
see make_fixtures.py) and every expected number is what Keras itself predicted for it, so the tests
compare lstmkit with Keras, not with itself.
"""

import numpy as np
import pytest

from lstmkit.models import load_model

from .helpers import KINDS, SEQUENTIAL, fixture, reference

TOLERANCE = 1e-5


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("name", SEQUENTIAL)
def test_sequential_files_predict_what_keras_predicted(name, kind):
    x, ref = reference(name, KINDS[kind])
    model = load_model(fixture(name, kind))
    predicted = model.predict(x, verbose=0)
    assert predicted.shape == ref["predicted"].shape
    np.testing.assert_allclose(predicted, ref["predicted"], atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("kind", list(KINDS))
def test_functional_encoder_decoder(kind):
    """Two inputs, the encoder's states as the decoder's initial_state (Keras 3 and Keras 2 graph layouts)."""
    model = load_model(fixture("encoder_decoder", kind))
    assert type(model).__name__ == "Functional"
    assert [t.name for t in model.inputs] == ["encoder_inputs", "decoder_inputs"]
    x, ref = reference("encoder_decoder", KINDS[kind])
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)
    assert model.optimizer.iterations == 3
    loss = model.train_on_batch(x, ref["y"])
    assert float(np.ravel(loss)[0]) == pytest.approx(float(ref["step_loss"]), abs=TOLERANCE)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["after_step"], atol=TOLERANCE, rtol=0)


def test_the_layers_are_lstmkit_layers_with_the_saved_settings():
    model = load_model(fixture("bidirectional", "tfk2.h5"))
    names = [type(layer).__name__ for layer in model.layers]
    assert names == ["Bidirectional", "TimeDistributed", "Bidirectional", "Dense"]
    first, _, second, _ = model.layers
    assert first.name == "bidi" and first.forward_layer.units == 3 and first.return_sequences
    assert second.merge_mode == "sum" and type(second.forward_layer).__name__ == "GRU"
    assert model.input_shape == (None, 5, 3)
    gru = load_model(fixture("gru_reset_before", "keras"))
    assert [layer.cell.reset_after for layer in gru.layers[:2]] == [False, False]
    embedded = load_model(fixture("embedding", "tfk2.h5"))
    assert embedded.layers[0].mask_zero and embedded.layers[0].input_dim == 10


# Training continues: one more step from the loaded file equals one more step in Keras. Left out: the
# Dropout model (its random masks differ between frameworks) and Keras 3's Embedding files (Keras 3's
# TensorFlow backend applies Adam to an Embedding's sparse gradient per occurrence of a token, so its step
# differs from the dense step of tf.keras 2, Keras 3 on other backends, and lstmkit).
CONTINUED = [
    (name, kind)
    for name in SEQUENTIAL
    for kind in KINDS
    if name != "stacked" and not (name == "embedding" and KINDS[kind] == "k3")
]


@pytest.mark.parametrize(("name", "kind"), CONTINUED)
def test_training_continues_where_keras_stopped(name, kind):
    x, ref = reference(name, KINDS[kind])
    model = load_model(fixture(name, kind))
    optimizer = model.optimizer
    assert type(optimizer).__name__ == "Adam"
    assert optimizer.learning_rate == pytest.approx(0.01)
    assert optimizer.iterations == int(ref["iterations"]) == 3
    slots = optimizer.get_slots(model.trainable_parameters())
    assert all(s is not None and set(s) == {"momentum", "velocity"} for s in slots)
    assert all(float(s["velocity"].abs().sum()) > 0 for s in slots)  # Keras's moments, not fresh zeros
    loss = model.train_on_batch(x, ref["y"])
    assert float(np.ravel(loss)[0]) == pytest.approx(float(ref["step_loss"]), abs=TOLERANCE)
    assert optimizer.iterations == 4
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["after_step"], atol=TOLERANCE, rtol=0)


def test_the_restored_moments_are_what_makes_the_step_match():
    """Without Keras's optimizer state the same step lands elsewhere: the check above can fail."""
    x, ref = reference("gru", "k3")
    model = load_model(fixture("gru", "keras"), compile=False)
    assert model.optimizer is None
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.learning_rate = 0.01
    model.train_on_batch(x, ref["y"])
    assert np.abs(model.predict(x, verbose=0) - ref["after_step"]).max() > 1e-3


@pytest.mark.parametrize("kind", list(KINDS))
def test_compile_settings_are_restored(kind):
    model = load_model(fixture("embedding", kind))
    assert model.loss == "binary_crossentropy"
    assert model.compiled.metric_identifiers == ["mae"]
    history = model.fit(*_embedding_data(kind), epochs=1, verbose=0)
    assert set(history.history) == {"loss", "mae"}


def _embedding_data(kind):
    x, ref = reference("embedding", KINDS[kind])
    return x, ref["y"]


def test_files_from_keras_open_whatever_their_name(tmp_path):
    """The kind of file is told by its content: a .keras file renamed .h5, an .h5 renamed .bin."""
    x, ref = reference("lstm", "k3")
    renamed = tmp_path / "model.h5"
    renamed.write_bytes(fixture("lstm", "keras").read_bytes())
    np.testing.assert_allclose(load_model(renamed).predict(x, verbose=0), ref["predicted"], atol=TOLERANCE)
    x, ref = reference("lstm", "tfk2")
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(fixture("lstm", "tfk2.h5").read_bytes())
    np.testing.assert_allclose(load_model(renamed).predict(x, verbose=0), ref["predicted"], atol=TOLERANCE)


@pytest.mark.parametrize("name", ["bidirectional", "encoder_decoder"])
def test_a_loaded_model_saves_and_reloads_in_lstmkit_format(tmp_path, name):
    x, ref = reference(name, "k3")
    model = load_model(fixture(name, "keras"))
    model.save(tmp_path / "again.keras")
    again = load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), ref["predicted"], atol=TOLERANCE, rtol=0)
    assert again.optimizer.iterations == 3
