"""TensorBoard writes real event files, where Keras 3 writes them (needs the optional tensorboard package)."""

import importlib.util
import os

import numpy as np
import pytest

import lstmkit
from lstmkit.callbacks import TensorBoard

from .helpers import series, small_model


def test_a_clear_import_error_without_tensorboard(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a)
    )
    with pytest.raises(ImportError, match=r"pip install tensorboard"):
        TensorBoard()


def _events(directory):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0, "histograms": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def _values(accumulator, tag):
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


def test_epoch_curves_histograms_images_and_graph(tmp_path):
    pytest.importorskip("tensorboard")
    model = small_model()
    history = model.fit(
        *series(),
        epochs=3,
        validation_split=0.25,
        verbose=0,
        callbacks=[TensorBoard(tmp_path, histogram_freq=2, write_images=True)],
    )
    train, validation = _events(tmp_path / "train"), _events(tmp_path / "validation")
    for tag, key in (("epoch_loss", "loss"), ("epoch_mae", "mae")):
        steps, values = zip(*_values(train, tag))
        assert steps == (0, 1, 2)
        np.testing.assert_allclose(values, history.history[key], rtol=1e-6)
        steps, values = zip(*_values(validation, tag))
        np.testing.assert_allclose(values, history.history["val_" + key], rtol=1e-6)
    assert [v for _, v in _values(train, "epoch_learning_rate")] == pytest.approx([0.05] * 3)
    tags = train.Tags()
    weight_tags = [f"{w.name}/histogram" for w in model.keras_weights()]
    assert set(weight_tags) <= set(tags["histograms"])
    assert [event.step for event in train.Histograms(weight_tags[0])] == [0, 2]
    assert {f"{w.name}/image" for w in model.keras_weights()} <= set(tags["images"])
    assert tags["graph"] and "model_config/text_summary" in tags["tensors"]


def test_batch_curves_steps_per_second_and_evaluation(tmp_path):
    pytest.importorskip("tensorboard")
    model = small_model()
    x, y = series(20)
    board = TensorBoard(tmp_path, write_graph=False, update_freq=2, write_steps_per_second=True)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[board])  # 10 batches
    loss = model.evaluate(x, y, verbose=0, callbacks=[board])[0]
    train, validation = _events(tmp_path / "train"), _events(tmp_path / "validation")
    assert [step for step, _ in _values(train, "batch_loss")] == [2, 4, 6, 8, 10]
    assert len(_values(train, "batch_steps_per_second")) == 10
    assert len(_values(train, "epoch_steps_per_second")) == 2
    assert _values(validation, "evaluation_loss_vs_iterations") == [(10, pytest.approx(loss, rel=1e-6))]
    assert not train.Tags()["graph"]


def test_arguments_and_main_process_only(tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    with pytest.raises(ValueError, match="torch.profiler"):
        TensorBoard(profile_batch=2)
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(update_freq="step")
    with pytest.raises(TypeError, match="histogram_frq"):
        TensorBoard(histogram_frq=1)
    monkeypatch.setattr(lstmkit.backend, "is_main_process", lambda: False)
    small_model().fit(
        *series(8), epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path / "logs", histogram_freq=1)]
    )
    assert not os.path.exists(tmp_path / "logs")


def test_embeddings_for_the_projector(tmp_path):
    pytest.importorskip("tensorboard")
    if not hasattr(lstmkit.layers, "Embedding"):
        pytest.skip("Embedding layer not available yet")
    from lstmkit import layers
    from lstmkit.models import Sequential

    model = Sequential(
        [layers.Embedding(5, 3, input_shape=(4,), name="tokens"), layers.LSTM(2), layers.Dense(1)]
    )
    model.compile("adam", "mse")
    labels = tmp_path / "labels.tsv"
    labels.write_text("\n".join(f"word{i}" for i in range(5)))
    x = np.random.default_rng(0).integers(0, 5, size=(8, 4))
    model.fit(
        x,
        np.zeros((8, 1)),
        epochs=1,
        verbose=0,
        callbacks=[
            TensorBoard(
                tmp_path / "logs",
                write_graph=False,
                embeddings_freq=1,
                embeddings_metadata={"tokens": labels},
            )
        ],
    )
    projector = (tmp_path / "logs" / "train" / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "tokens' in projector and "metadata.tsv" in projector
