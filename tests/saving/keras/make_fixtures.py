"""Make the Keras-written fixtures of ``tests/saving/keras`` (run by hand; its outputs are committed).

Every model file here is written by real Keras, and every expected output is what real Keras predicted
for it, so that the tests compare lstmkit against Keras itself:

* ``<model>.keras`` and ``<model>.k3.h5``: Keras 3 ``model.save`` in the zip format and the legacy HDF5
  format; ``<model>.k3.npz`` holds the inputs, Keras's predictions and one more training step.
* ``<model>.tfk2.h5``: tf.keras 2 (the ``tf_keras`` package, Keras 2.x as TensorFlow 2.x shipped it)
  ``model.save``, written in the Keras 2 tutorial style (``input_shape=`` on the first layer,
  ``input_length=`` on Embedding); ``<model>.tfk2.npz`` as above.
* ``lstm.k3.weights.h5`` / ``lstm.tfk2.weights.h5``: ``save_weights`` to a ``.weights.h5`` name, which both
  Keras 3 and tf.keras 2.13+ write in the object-path layout (``layers/lstm/cell/vars/0``, optimizer too);
  ``lstm_weights.tfk2.h5`` / ``bidirectional_weights.tfk2.h5``: tf.keras 2 ``save_weights`` to a plain
  ``.h5`` name, the legacy HDF5 layout (one group per layer, matched by position).
* ``cudnn_weights.tfk2.h5`` and ``cudnn.tfk2.h5``: a ``CuDNNLSTM`` + ``CuDNNGRU`` model built and saved by
  tf.keras 2 (``tf.compat.v1.keras.layers.CuDNNLSTM``; building and saving need no GPU). The expected
  outputs in ``cudnn.tfk2.npz`` are tf.keras 2's own: it loads the cuDNN weights into ``LSTM`` /
  ``GRU(reset_after=True)`` (converting them) and predicts.
* ``keras1_weights.h5``: an LSTM (12 arrays, gate order i, c, f, o) + GRU (9 arrays) + Dense weights file in
  the Keras 1 layout (no ``keras_version`` attribute; datasets directly in each layer's group), written
  here with h5py because Keras 1 cannot be installed on Python 3.11; the expected outputs are tf.keras 2's,
  which converts Keras 1 weights when it loads them.
* ``lambda.keras`` / ``lambda.tfk2.h5``: a model with a ``Lambda`` layer whose Python bytecode Keras stored
  in the file (used to check that lstmkit refuses it without ever unmarshalling it).

Versions used for the committed files: Keras 3.15.1 with TensorFlow 2.21.0 (CPU), tf_keras 2.21.0,
h5py 3.14.0, NumPy 2.x, Python 3.11. Run::

    KERAS_BACKEND=tensorflow <keras 3 venv>/bin/python tests/saving/keras/make_fixtures.py keras3
    TF_USE_LEGACY_KERAS=1 <tf_keras venv>/bin/python tests/saving/keras/make_fixtures.py tfkeras2

(a tf_keras venv: ``pip install tf_keras==2.21.0`` beside ``tensorflow-cpu==2.21.0``). The second run also
writes the Keras 1 and cuDNN files. Outputs go to ``fixtures/`` beside this script.
"""

from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
SEED = 1234
BATCH, STEPS, FEATURES = 4, 5, 3


def data(seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (BATCH, STEPS, FEATURES)).astype("float32"), rng


# ---------------------------------------------------------------------------- models
# Each builder returns (model, x, y, loss). ``legacy`` selects the Keras 2 tutorial spellings.
def lstm(K, legacy):
    x, rng = data(1)
    first = K.layers.LSTM(4, input_shape=(STEPS, FEATURES)) if legacy else K.layers.LSTM(4)
    layers = [first, K.layers.Dense(1)]
    model = K.Sequential(layers if legacy else [K.Input((STEPS, FEATURES))] + layers)
    return model, x, rng.uniform(-1, 1, (BATCH, 1)).astype("float32"), "mse"


def gru(K, legacy, reset_after=True):
    x, rng = data(2)
    options = {"reset_after": reset_after, "return_sequences": True}
    first = (
        K.layers.GRU(4, input_shape=(STEPS, FEATURES), **options) if legacy else K.layers.GRU(4, **options)
    )
    layers = [first, K.layers.GRU(3, reset_after=reset_after), K.layers.Dense(2)]
    model = K.Sequential(layers if legacy else [K.Input((STEPS, FEATURES))] + layers)
    return model, x, rng.uniform(-1, 1, (BATCH, 2)).astype("float32"), "mse"


def gru_reset_before(K, legacy):
    return gru(K, legacy, reset_after=False)


def bidirectional(K, legacy):
    x, rng = data(3)
    inner = K.layers.LSTM(3, return_sequences=True)
    first = (
        K.layers.Bidirectional(inner, input_shape=(STEPS, FEATURES), name="bidi")
        if legacy
        else K.layers.Bidirectional(inner, name="bidi")
    )
    layers = [
        first,
        K.layers.TimeDistributed(K.layers.Dense(2)),
        K.layers.Bidirectional(K.layers.GRU(2), merge_mode="sum"),
        K.layers.Dense(1),
    ]
    model = K.Sequential(layers if legacy else [K.Input((STEPS, FEATURES))] + layers)
    return model, x, rng.uniform(-1, 1, (BATCH, 1)).astype("float32"), "mse"


def stacked(K, legacy):
    x, rng = data(4)
    first = (
        K.layers.LSTM(4, return_sequences=True, input_shape=(STEPS, FEATURES))
        if legacy
        else K.layers.LSTM(4, return_sequences=True)
    )
    layers = [first, K.layers.Dropout(0.2), K.layers.LSTM(4), K.layers.Dropout(0.2), K.layers.Dense(1)]
    model = K.Sequential(layers if legacy else [K.Input((STEPS, FEATURES))] + layers)
    return model, x, rng.uniform(-1, 1, (BATCH, 1)).astype("float32"), "mse"


def embedding(K, legacy):
    rng = np.random.default_rng(5)
    ids = rng.integers(1, 10, (BATCH, 6))
    ids[0, :2] = 0  # pre-padding
    ids[1, 4:] = 0  # post-padding
    ids[2, 1] = 0  # a gap
    first = (
        K.layers.Embedding(10, 4, mask_zero=True, input_length=6)
        if legacy
        else K.layers.Embedding(10, 4, mask_zero=True)
    )
    layers = [first, K.layers.LSTM(3), K.layers.Dense(1, activation="sigmoid")]
    model = K.Sequential(layers if legacy else [K.Input((6,), dtype="int32")] + layers)
    return model, ids.astype("int32"), rng.integers(0, 2, (BATCH, 1)).astype("float32"), "binary_crossentropy"


def masking(K, legacy):
    x, rng = data(6)
    x[0, 3:] = 0.0  # padded timesteps
    x[2, :1] = 0.0
    first = K.layers.Masking(0.0, input_shape=(STEPS, FEATURES)) if legacy else K.layers.Masking(0.0)
    layers = [first, K.layers.GRU(3, return_sequences=True), K.layers.LSTM(2), K.layers.Dense(1)]
    model = K.Sequential(layers if legacy else [K.Input((STEPS, FEATURES))] + layers)
    return model, x, rng.uniform(-1, 1, (BATCH, 1)).astype("float32"), "mse"


def encoder_decoder(K, legacy):
    x, rng = data(7)
    decoder_x = rng.uniform(-1, 1, (BATCH, 3, 2)).astype("float32")
    encoder_inputs = K.Input((STEPS, FEATURES), name="encoder_inputs")
    _, h, c = K.layers.LSTM(4, return_state=True, name="encoder")(encoder_inputs)
    decoder_inputs = K.Input((3, 2), name="decoder_inputs")
    decoded = K.layers.LSTM(4, return_sequences=True, name="decoder")(decoder_inputs, initial_state=[h, c])
    outputs = K.layers.Dense(2, name="head")(decoded)
    model = K.Model([encoder_inputs, decoder_inputs], outputs, name="seq2seq")
    return model, [x, decoder_x], rng.uniform(-1, 1, (BATCH, 3, 2)).astype("float32"), "mse"


MODELS = {
    "lstm": lstm,
    "gru": gru,
    "gru_reset_before": gru_reset_before,
    "bidirectional": bidirectional,
    "stacked": stacked,
    "embedding": embedding,
    "masking": masking,
    "encoder_decoder": encoder_decoder,
}


def inputs_dict(x):
    return {f"x{i}": a for i, a in enumerate(x)} if isinstance(x, list) else {"x0": x}


def make(K, flavour, legacy):
    """Train each model a little, save it, then record its predictions and one more training step."""
    for name, builder in MODELS.items():
        K.utils.set_random_seed(SEED)
        model, x, y, loss = builder(K, legacy)
        model.compile(optimizer=K.optimizers.Adam(learning_rate=0.01), loss=loss, metrics=["mae"])
        model.fit(x, y, epochs=3, batch_size=BATCH, shuffle=False, verbose=0)
        # The .keras file first: Keras 3.15's legacy .h5 writer pops the optimizer out of the model's compile
        # config (in place), so a .keras file saved after it would lack its optimizer.
        paths = ([f"{name}.keras"] if flavour == "k3" else []) + [f"{name}.{flavour}.h5"]
        for path in paths:
            model.save(os.path.join(HERE, path))
        if name == "lstm":
            model.save_weights(os.path.join(HERE, f"{name}.{flavour}.weights.h5"))
        if flavour == "tfk2" and name in ("lstm", "bidirectional"):
            model.save_weights(os.path.join(HERE, f"{name}_weights.tfk2.h5"))  # legacy layout
        predicted = model.predict(x, verbose=0)
        iterations = int(model.optimizer.iterations.numpy())
        # What the saved model does next: one more step on the same batch (the tests repeat it after loading).
        step_loss = model.train_on_batch(x, y)
        step_loss = float(step_loss[0] if isinstance(step_loss, (list, tuple)) else step_loss)
        after_step = model.predict(x, verbose=0)
        np.savez(
            os.path.join(HERE, f"{name}.{flavour}.npz"),
            **inputs_dict(x),
            y=y,
            predicted=predicted,
            iterations=iterations,
            step_loss=step_loss,
            after_step=after_step,
        )
        print(flavour, name, "saved", paths, "iterations", iterations)


def lambda_model(K, path, flavour):
    """A Lambda layer (x * 2) whose bytecode Keras stores; its predictions let the tests check a layer class
    given in custom_objects in its place."""
    K.utils.set_random_seed(SEED)
    x, _ = data(10)
    layers = [K.layers.Lambda(lambda t: t * 2.0, name="double"), K.layers.LSTM(2), K.layers.Dense(1)]
    if path.endswith(".keras"):
        model = K.Sequential([K.Input((STEPS, FEATURES))] + layers)
    else:
        model = K.Sequential([K.layers.InputLayer(input_shape=(STEPS, FEATURES))] + layers)
    model.save(os.path.join(HERE, path))
    np.savez(os.path.join(HERE, f"lambda.{flavour}.npz"), x0=x, predicted=model.predict(x, verbose=0))


def cudnn(K, tf):
    """CuDNNLSTM/CuDNNGRU weights written by tf.keras 2; the reference is tf.keras 2's own conversion."""
    rng = np.random.default_rng(8)
    K.utils.set_random_seed(SEED)
    v1 = tf.compat.v1.keras.layers
    model = K.Sequential(
        [
            v1.CuDNNLSTM(4, return_sequences=True, input_shape=(STEPS, FEATURES)),
            v1.CuDNNGRU(3),
            K.layers.Dense(1),
        ]
    )
    # Random values everywhere (biases too), so that a wrong gate order, transpose or bias sum shows.
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    model.save_weights(os.path.join(HERE, "cudnn_weights.tfk2.h5"))
    model.save(os.path.join(HERE, "cudnn.tfk2.h5"), include_optimizer=False)
    reference = K.Sequential(
        [
            K.layers.LSTM(4, return_sequences=True, input_shape=(STEPS, FEATURES)),
            K.layers.GRU(3, reset_after=True),
            K.layers.Dense(1),
        ]
    )
    reference.load_weights(os.path.join(HERE, "cudnn_weights.tfk2.h5"))  # tf.keras converts cuDNN weights
    x = rng.uniform(-1, 1, (BATCH, STEPS, FEATURES)).astype("float32")
    np.savez(os.path.join(HERE, "cudnn.tfk2.npz"), x0=x, predicted=reference.predict(x, verbose=0))
    print("cudnn written")


def keras1(K):
    """A Keras 1 weights file (written with h5py in Keras 1's layout) and tf.keras 2's predictions for it."""
    import h5py

    rng = np.random.default_rng(9)
    units_lstm, units_gru, features = 3, 2, 2

    def arr(*shape):
        return rng.normal(0, 0.5, shape).astype("float32")

    groups = {
        # Keras 1 LSTM: W, U, b for each gate, gates in the order i, c, f, o.
        "lstm_1": [
            (f"lstm_1_{kind}_{gate}", arr(*shape))
            for gate in "icfo"
            for kind, shape in (
                ("W", (features, units_lstm)),
                ("U", (units_lstm, units_lstm)),
                ("b", (units_lstm,)),
            )
        ],
        # Keras 1 GRU: W, U, b for the gates z, r, h.
        "gru_1": [
            (f"gru_1_{kind}_{gate}", arr(*shape))
            for gate in "zrh"
            for kind, shape in (
                ("W", (units_lstm, units_gru)),
                ("U", (units_gru, units_gru)),
                ("b", (units_gru,)),
            )
        ],
        "dense_1": [("dense_1_W", arr(units_gru, 1)), ("dense_1_b", arr(1))],
    }
    path = os.path.join(HERE, "keras1_weights.h5")
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode() for name in groups]
        for name, weights in groups.items():
            group = f.create_group(name)
            group.attrs["weight_names"] = [w.encode() for w, _ in weights]
            for weight_name, value in weights:
                group.create_dataset(weight_name, data=value)
    reference = K.Sequential(
        [
            K.layers.LSTM(units_lstm, return_sequences=True, input_shape=(4, features)),
            K.layers.GRU(units_gru, reset_after=False),
            K.layers.Dense(1),
        ]
    )
    reference.load_weights(path)  # no keras_version attribute: tf.keras treats the file as Keras 1's
    x = rng.uniform(-1, 1, (BATCH, 4, features)).astype("float32")
    np.savez(os.path.join(HERE, "keras1.npz"), x0=x, predicted=reference.predict(x, verbose=0))
    print("keras1 written")


def main(flavour):
    os.makedirs(HERE, exist_ok=True)
    if flavour == "keras3":
        import keras

        assert keras.__version__.startswith("3."), keras.__version__
        make(keras, "k3", legacy=False)
        lambda_model(keras, "lambda.keras", "k3")
    elif flavour == "tfkeras2":
        import tensorflow as tf
        import tf_keras

        assert tf_keras.__version__.startswith("2."), tf_keras.__version__
        make(tf_keras, "tfk2", legacy=True)
        lambda_model(tf_keras, "lambda.tfk2.h5", "tfk2")
        cudnn(tf_keras, tf)
        keras1(tf_keras)
    else:
        raise SystemExit("usage: make_fixtures.py keras3|tfkeras2")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
