"""Embedding and Masking: lookups and masks against NumPy, Keras 2 arguments, errors, a masked model."""

import numpy as np
import pytest
import torch

from lstmkit.layers import Dense, Dropout, Embedding, GlobalAveragePooling1D, InputShapeError, Masking
from lstmkit.layers.core import Masking as MaskingFromCore
from lstmkit.layers.embeddings import Embedding as EmbeddingFromKeras2Path
from lstmkit.models import Sequential

from .layer_checks import gradcheck_layer, round_trip


def _built(layer, shape=(None, 5)):
    layer.ensure_built(shape)
    return layer


# ---------------------------------------------------------------------------- Embedding
def test_embedding_is_a_row_lookup(rng):
    layer = _built(Embedding(10, 3))
    table = rng.normal(size=(10, 3))
    layer.set_weights([table])
    ids = rng.integers(0, 10, size=(4, 5))
    np.testing.assert_allclose(layer(torch.tensor(ids)).detach().numpy(), table[ids], atol=1e-7)
    # Any rank of ids; lists, NumPy arrays and float tensors of whole numbers work too (Keras casts).
    ids3 = rng.integers(0, 10, size=(2, 3, 4))
    np.testing.assert_allclose(layer(ids3).detach().numpy(), table[ids3], atol=1e-7)
    np.testing.assert_allclose(layer([[1, 2]]).detach().numpy(), table[[[1, 2]]], atol=1e-7)
    np.testing.assert_allclose(layer(torch.tensor([[3.0, 4.0]])).detach().numpy(), table[[[3, 4]]], atol=1e-7)
    assert layer.compute_output_shape((None, 5)) == (None, 5, 3)
    assert layer.compute_output_shape((None, 2, 3)) == (None, 2, 3, 3)


def test_embedding_weight_layout_count_and_default_initializer():
    layer = _built(Embedding(1000, 64))
    (table,) = layer.get_weights()
    assert table.shape == (1000, 64) and layer.count_params() == 1000 * 64  # Keras: input_dim * output_dim
    assert [w.name.split("/")[-1] for w in layer.weights] == ["embeddings"]
    # Keras's default 'uniform' = RandomUniform(-0.05, 0.05).
    assert table.min() >= -0.05 and table.max() <= 0.05 and table.std() > 0.02
    assert layer.get_config()["embeddings_initializer"] == {
        "class_name": "RandomUniform",
        "config": {"minval": -0.05, "maxval": 0.05, "seed": None},
    }


def test_embedding_mask_zero():
    ids = torch.tensor([[3, 1, 0, 0], [2, 0, 5, 0]])
    layer = _built(Embedding(6, 2, mask_zero=True))
    np.testing.assert_array_equal(layer.compute_mask(ids).numpy(), ids.numpy() != 0)
    assert layer.supports_masking
    plain = _built(Embedding(6, 2))
    assert plain.compute_mask(ids) is None


def test_embedding_input_length_is_the_declared_input_shape():
    model = Sequential([Embedding(100, 8, input_length=10), GlobalAveragePooling1D(), Dense(1)])
    assert model.built and model.input_shape == (None, 10) and model.output_shape == (None, 1)
    assert model.layers[0].get_config()["batch_input_shape"] == (None, 10)
    assert Embedding(100, 8, input_shape=(7,)).input_shape_declared == (None, 7)
    with pytest.raises(ValueError, match=r"input_length=10 disagrees with input_shape=\(7,\)"):
        Embedding(100, 8, input_length=10, input_shape=(7,))
    with pytest.raises(ValueError, match="input_length must be a positive integer. Received: input_length=0"):
        Embedding(100, 8, input_length=0)


def test_embedding_pretrained_weights_argument(rng):
    matrix = rng.normal(size=(7, 4))
    layer = Embedding(7, 4, weights=[matrix], trainable=False)
    np.testing.assert_allclose(layer.get_weights()[0], matrix, atol=1e-7)  # before any build
    model = Sequential([layer, GlobalAveragePooling1D()])
    model.build((None, 3))
    np.testing.assert_allclose(model.get_weights()[0], matrix, atol=1e-7)  # build keeps them
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1
    with pytest.raises(
        ValueError, match=r"embeddings' has shape \(7, 4\); received an array of shape \(7, 3\)"
    ):
        Embedding(7, 4, weights=[matrix[:, :3]])


def test_embedding_out_of_range_ids_give_a_teaching_error():
    layer = _built(Embedding(10, 2))
    with pytest.raises(ValueError) as info:
        layer(torch.tensor([[1, 2], [10, 3]]))
    message = str(info.value)
    assert "token id 10" in message and "(1, 0)" in message and "valid ids are 0 to 9" in message
    assert "input_dim must be greater than the largest id" in message and "Embedding(input_dim=11" in message
    with pytest.raises(
        ValueError, match=r"negative token id -1 \(at index \(0, 1\).*between 0 and input_dim - 1 = 9"
    ):
        layer(torch.tensor([[1, -1]]))
    model = Sequential([Embedding(10, 2), GlobalAveragePooling1D()])
    with pytest.raises(ValueError, match="token id 12"):
        model.predict(np.array([[1, 12]]), verbose=0)


def test_embedding_argument_errors():
    with pytest.raises(ValueError, match="input_dim must be a positive integer. Received: input_dim=0"):
        Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim must be a positive integer. Received: output_dim=2.5"):
        Embedding(5, 2.5)
    with pytest.raises(ValueError, match="Unknown initializer: 'unifrom'. Did you mean"):
        Embedding(5, 2, embeddings_initializer="unifrom")
    with pytest.raises(TypeError, match="unexpected keyword argument 'mask_zeros'. Did you mean 'mask_zero'"):
        Embedding(5, 2, mask_zeros=True)


def test_embedding_gradcheck_float64_and_regularizer(rng):
    layer = _built(Embedding(6, 3, dtype="float64", embeddings_regularizer="l2"))
    assert gradcheck_layer(layer, torch.tensor([[1, 5, 1], [0, 2, 3]]), wrt_input=False)
    (penalty,) = layer.regularization_losses()
    assert float(penalty.detach()) == pytest.approx(0.01 * float((layer.embeddings.detach() ** 2).sum()))


def test_embedding_config_round_trip(rng):
    layer = _built(Embedding(9, 3, mask_zero=True, input_length=5, name="emb"))
    clone = round_trip(layer, torch.tensor(rng.integers(0, 9, size=(2, 5))), rng)
    assert clone.mask_zero and clone.input_shape_declared == (None, 5)
    assert EmbeddingFromKeras2Path is Embedding


def test_masked_embedding_model_fits_and_ignores_padding(rng):
    model = Sequential(
        [
            Embedding(20, 8, mask_zero=True),
            Dropout(0.2),
            GlobalAveragePooling1D(),
            Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x = rng.integers(1, 20, size=(64, 6))
    x[::2, 3:] = 0  # padded tails
    y = (x[:, 0] >= 10).astype("float32")
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    # Masked steps do not count: more padding gives the same prediction.
    short = np.array([[4, 12, 7]])
    padded = np.array([[4, 12, 7, 0, 0, 0, 0]])
    np.testing.assert_allclose(model.predict(short, verbose=0), model.predict(padded, verbose=0), atol=1e-6)
    # Against NumPy: the mean of the unmasked embedding rows, then the Dense layer.
    table, kernel, bias = model.get_weights()
    expected = 1 / (1 + np.exp(-(table[[4, 12, 7]].mean(axis=0) @ kernel + bias)))
    np.testing.assert_allclose(model.predict(padded, verbose=0)[0], expected, atol=1e-5)


# ---------------------------------------------------------------------------- Masking
def test_masking_output_and_mask_equal_numpy(rng):
    x = rng.normal(size=(3, 5, 2))
    x[0, 1:3] = 0.0
    x[2, 4] = 0.0
    x[1, 2, 0] = 0.0  # one zero feature is not enough to mask a step
    layer = Masking()
    keep = np.any(x != 0.0, axis=-1)
    np.testing.assert_array_equal(layer.compute_mask(torch.tensor(x)).numpy(), keep)
    np.testing.assert_array_equal(layer(torch.tensor(x)).numpy(), x * keep[..., None])
    assert layer.compute_output_shape((None, 5, 2)) == (None, 5, 2)
    assert MaskingFromCore is Masking


def test_masking_with_a_padding_value_zeroes_masked_steps(rng):
    x = rng.normal(size=(2, 4, 3))
    x[0, :2] = -1.0
    layer = Masking(mask_value=-1.0)
    out = layer(torch.tensor(x)).numpy()
    assert (out[0, :2] == 0.0).all() and np.array_equal(out[0, 2:], x[0, 2:]) and np.array_equal(out[1], x[1])
    np.testing.assert_array_equal(
        layer.compute_mask(torch.tensor(x)).numpy(), [[False, False, True, True]] + [[True] * 4]
    )
    round_trip(Masking(mask_value=-1.0, name="mask_m1"), torch.tensor(x, dtype=torch.float32))


def test_masking_feeds_a_mask_aware_pooling_layer(rng):
    x = rng.normal(size=(2, 5, 3))
    x[0, 3:] = 0.0
    model = Sequential([Masking(input_shape=(5, 3)), GlobalAveragePooling1D()])
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(got, np.stack([x[0, :3].mean(0), x[1].mean(0)]), atol=1e-6)


def test_masking_errors():
    with pytest.raises(TypeError, match="mask_value must be a number"):
        Masking(mask_value="pad")
    with pytest.raises(
        InputShapeError, match=r"Masking\) expects input \(batch, timesteps, features\); received a 1-D"
    ):
        Masking()(torch.zeros(3))


def test_check_token_ids_finds_the_embedding_behind_a_wrapper():
    from lstmkit.layers import TimeDistributed
    from lstmkit.layers.embedding import check_token_ids

    check_token_ids(Embedding(5, 2), torch.tensor([[0, 4]]))  # in range: nothing happens
    check_token_ids(Dense(2), torch.tensor([[99]]))  # not an embedding: nothing to check
    with pytest.raises(ValueError, match="token id 7 .* valid ids are 0 to 4"):
        check_token_ids(TimeDistributed(Embedding(5, 2)), torch.tensor([[[1, 7]]]))
