"""The canonical LSTM encoder-decoder of the Keras tutorials, on reversing digit strings: a training model with
the encoder's states fed to the decoder, then inference models built from the trained layers and greedy
decoding one token at a time."""

import numpy as np

import lstmkit as keras
from lstmkit import layers
from lstmkit.utils import set_random_seed, to_categorical

LENGTH, VOCABULARY, UNITS = 4, 8, 32  # strings of 4 digits 1..7; token 0 starts the decoder


def one_hot(strings):
    """(encoder input, decoder input = target shifted right after the start token, target), one-hot."""
    target = strings[:, ::-1]
    start = np.zeros((len(strings), 1), dtype=int)
    decoder_input = np.concatenate([start, target[:, :-1]], axis=1)
    return (
        to_categorical(strings, VOCABULARY),
        to_categorical(decoder_input, VOCABULARY),
        to_categorical(target, VOCABULARY),
    )


def test_encoder_decoder_reverses_held_out_strings():
    set_random_seed(0)
    rng = np.random.default_rng(0)
    strings = np.array(np.meshgrid(*[np.arange(1, VOCABULARY)] * LENGTH)).reshape(LENGTH, -1).T
    rng.shuffle(strings)
    train, held_out = strings[:1000], strings[1800:2100]  # 300 strings never seen in training

    encoder_inputs = keras.Input((LENGTH, VOCABULARY))
    _, state_h, state_c = layers.LSTM(UNITS, return_state=True)(encoder_inputs)
    decoder_inputs = keras.Input((None, VOCABULARY))
    decoder_lstm = layers.LSTM(UNITS, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    decoder_dense = layers.Dense(VOCABULARY, activation="softmax")
    model = keras.Model([encoder_inputs, decoder_inputs], decoder_dense(decoder_outputs))
    model.compile(keras.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    x_encoder, x_decoder, y = one_hot(train)
    model.fit([x_encoder, x_decoder], y, epochs=14, batch_size=64, verbose=0)

    # Inference: the same trained layers, rewired.
    encoder_model = keras.Model(encoder_inputs, [state_h, state_c])
    h_in, c_in = keras.Input((UNITS,)), keras.Input((UNITS,))
    step_out, h_out, c_out = decoder_lstm(decoder_inputs, initial_state=[h_in, c_in])
    decoder_model = keras.Model([decoder_inputs, h_in, c_in], [decoder_dense(step_out), h_out, c_out])
    assert decoder_model.count_params() == decoder_lstm.count_params() + decoder_dense.count_params()

    states = encoder_model.predict(one_hot(held_out)[0], verbose=0)
    token = to_categorical(np.zeros(len(held_out), dtype=int), VOCABULARY)[:, None, :]
    decoded = []
    for _ in range(LENGTH):
        probabilities, h, c = decoder_model.predict([token, *states], verbose=0)
        states = [h, c]
        chosen = probabilities[:, -1].argmax(axis=-1)
        decoded.append(chosen)
        token = to_categorical(chosen, VOCABULARY)[:, None, :]
    exact = (np.stack(decoded, axis=1) == held_out[:, ::-1]).all(axis=1).mean()
    assert exact >= 0.95, f"{exact:.3f} of held-out strings reversed exactly"
