"""Keras 2's Tokenizer and Keras 3's TextVectorization: against values recorded from real Keras (the fixture
tests/preprocessing/fixtures/keras_text.json and the script that made it), hand-computed cases, saving, errors,
and the two tutorials they serve (a word-level language model, a sentiment classifier)."""

import json
import pathlib

import numpy as np
import pytest
import torch

from lstmkit.layers import LSTM, Dense, Embedding, TextVectorization, deserialize, serialize
from lstmkit.models import Sequential
from lstmkit.preprocessing.text import (
    Tokenizer,
    hashing_trick,
    one_hot,
    text_to_word_sequence,
    tokenizer_from_json,
)
from lstmkit.utils import to_categorical

KERAS = json.loads((pathlib.Path(__file__).parent / "fixtures" / "keras_text.json").read_text())
CORPUS, QUERIES = KERAS["corpus"], KERAS["queries"]
TOKENIZER_CASES = {k: v for k, v in KERAS["tokenizer"].items() if k != "token_lists"}


# ---------------------------------------------------------------------------- Tokenizer
@pytest.mark.parametrize("name", sorted(TOKENIZER_CASES))
def test_tokenizer_matches_keras2(name):
    case = TOKENIZER_CASES[name]
    tokenizer = Tokenizer(**case["kwargs"])
    tokenizer.fit_on_texts(CORPUS)
    assert tokenizer.word_index == case["word_index"]
    assert {str(k): v for k, v in tokenizer.index_word.items()} == case["index_word"]
    assert list(tokenizer.word_counts.items()) == [tuple(pair) for pair in case["word_counts"]]
    assert dict(tokenizer.word_docs) == case["word_docs"]
    assert {str(k): v for k, v in tokenizer.index_docs.items()} == case["index_docs"]
    assert tokenizer.document_count == case["document_count"]
    assert tokenizer.texts_to_sequences(QUERIES + CORPUS) == case["sequences"]
    assert tokenizer.sequences_to_texts(case["sequences"] + [[0, 1, 2, 99, 3]]) == case["texts"]
    for mode, expected in case["matrix"].items():
        np.testing.assert_allclose(tokenizer.texts_to_matrix(QUERIES, mode=mode), expected, rtol=1e-12)
    ours = json.loads(tokenizer.to_json())
    assert ours["class_name"] == "Tokenizer" and ours["config"].keys() == case["json"]["config"].keys()
    for key in ("word_index", "word_counts", "word_docs", "index_docs", "index_word"):
        assert json.loads(ours["config"][key]) == json.loads(case["json"]["config"][key])
    # Keras 2's JSON loads here, and ours round-trips.
    for source in (json.dumps(case["json"]), tokenizer.to_json()):
        restored = tokenizer_from_json(source)
        assert restored.texts_to_sequences(QUERIES) == case["sequences"][: len(QUERIES)]
        np.testing.assert_allclose(restored.texts_to_matrix(QUERIES, "tfidf"), case["matrix"]["tfidf"])


def test_tokenizer_hand_computed():
    tokenizer = Tokenizer(num_words=4, oov_token="<oov>")
    tokenizer.fit_on_texts(["b a c", "a b d", "a"])
    # a: 3, b: 2, c and d: 1 each (c seen first); the oov token takes index 1.
    assert tokenizer.word_index == {"<oov>": 1, "a": 2, "b": 3, "c": 4, "d": 5}
    # num_words=4 keeps indices 1..3 (it counts the reserved 0): c, d and unknown words become <oov>.
    assert tokenizer.texts_to_sequences(["a b c d e"]) == [[2, 3, 1, 1, 1]]
    assert tokenizer.sequences_to_texts([[2, 3, 4, 7]]) == ["a b <oov> <oov>"]
    np.testing.assert_array_equal(tokenizer.texts_to_matrix(["a a b"], mode="count"), [[0, 0, 2, 1]])
    np.testing.assert_allclose(tokenizer.texts_to_matrix(["a a b"], mode="freq"), [[0, 0, 2 / 3, 1 / 3]])
    idf_a = np.log(1 + 3 / (1 + 3))
    np.testing.assert_allclose(
        tokenizer.texts_to_matrix(["a a"], mode="tfidf")[0, 2], (1 + np.log(2)) * idf_a
    )
    plain = Tokenizer(num_words=3)
    plain.fit_on_texts(["b a c", "a b d", "a"])
    assert plain.texts_to_sequences(["a b c zebra"]) == [[1, 2]]  # no oov_token: dropped
    tokens = Tokenizer(oov_token="<unk>")
    tokens.fit_on_texts([["Hello", "World"], ["hello", "there"]])  # texts given as token lists
    assert tokens.word_index == KERAS["tokenizer"]["token_lists"]["word_index"]
    assert tokens.texts_to_sequences([["HELLO", "you"]]) == KERAS["tokenizer"]["token_lists"]["sequences"]


def test_tokenizer_loaded_from_json_fits_on_more_texts():
    first, more = ["b a c", "a b d"], ["e a", "f e"]
    loaded = tokenizer_from_json(_fitted(first).to_json())
    loaded.fit_on_texts(more)  # new words: e, f
    loaded.fit_on_sequences([[7]])
    at_once = _fitted(first + more)
    at_once.fit_on_sequences([[7]])
    assert loaded.word_index == at_once.word_index
    assert (
        dict(loaded.word_docs) == dict(at_once.word_docs) and loaded.document_count == at_once.document_count
    )
    assert dict(loaded.index_docs) == dict(at_once.index_docs)


def _fitted(texts):
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(texts)
    return tokenizer


def test_text_functions_match_keras2():
    assert [text_to_word_sequence(t) for t in CORPUS] == KERAS["text_to_word_sequence"]
    custom = [text_to_word_sequence(t, filters="'", lower=False, split=",") for t in CORPUS]
    assert custom == KERAS["text_to_word_sequence_custom"]
    assert [hashing_trick(t, 11, hash_function="md5") for t in CORPUS] == KERAS["hashing_trick_md5"]
    indices = one_hot("the cat sat on the mat", 5)
    assert len(indices) == 6 and all(1 <= i <= 4 for i in indices) and indices[0] == indices[4]


def test_tokenizer_errors_teach():
    tokenizer = Tokenizer()
    with pytest.raises(ValueError, match="give num_words .* or call fit_on_texts first"):
        tokenizer.texts_to_matrix(["a"])
    with pytest.raises(
        TypeError, match=r"takes a list of texts; received one string .*fit_on_texts\(\[text\]\)"
    ):
        tokenizer.fit_on_texts("a single text")
    tokenizer.fit_on_texts(["a b"])
    with pytest.raises(
        ValueError, match=r"mode must be one of 'binary', 'count', 'tfidf', 'freq'. Received: mode='tf-idf'"
    ):
        tokenizer.texts_to_matrix(["a"], mode="tf-idf")
    with pytest.raises(TypeError, match="each text must be a string .* Received a int"):
        tokenizer.texts_to_sequences([3])
    with pytest.raises(ValueError, match="num_words must be a positive integer"):
        Tokenizer(num_words=2.5)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        Tokenizer(nb_word=3)
    with pytest.raises(ValueError, match="tokenizer_from_json needs the string that Tokenizer.to_json"):
        tokenizer_from_json("{}")


def test_word_language_model_with_tokenizer_trains():
    """The tutorials' one-word-in, one-word-out model on the 'Jack and Jill' rhyme."""
    text = "Jack and Jill went up the hill\n To fetch a pail of water\n Jack fell down and broke his crown\n And Jill came tumbling after\n"
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts([text])
    encoded = tokenizer.texts_to_sequences([text])[0]
    vocab_size = len(tokenizer.word_index) + 1
    pairs = np.array([encoded[i - 1 : i + 1] for i in range(1, len(encoded))])
    x, y = pairs[:, :1], to_categorical(pairs[:, 1], num_classes=vocab_size)
    model = Sequential(
        [Embedding(vocab_size, 10, input_length=1), LSTM(50), Dense(vocab_size, activation="softmax")]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x, y, epochs=300, verbose=0)
    # 21 of the 24 pairs are unambiguous ('jack', 'jill' and 'and' are each followed by two words).
    assert history.history["accuracy"][-1] >= 0.85  # measured 0.875, the maximum
    words = ["jill"]
    for _ in range(4):
        index = np.array(tokenizer.texts_to_sequences([words[-1]])).reshape(1, 1)
        words.append(tokenizer.index_word[int(np.argmax(model.predict(index, verbose=0)))])
    assert words == ["jill", "went", "up", "the", "hill"]


# ---------------------------------------------------------------------------- TextVectorization
@pytest.mark.parametrize("name", sorted(KERAS["text_vectorization"]))
def test_text_vectorization_matches_keras3(name):
    case = KERAS["text_vectorization"][name]
    layer = TextVectorization(**case["kwargs"])
    if case["adapt"]:
        layer.adapt(CORPUS if name != "no_split" else ["red", "green", "red", "blue", "red green"])
    out = layer(np.array(case["queries"]))
    assert layer.get_vocabulary() == case["vocabulary"]
    assert layer.vocabulary_size() == case["vocabulary_size"]
    assert str(out.dtype).replace("torch.", "") == case["dtype"]
    expected = np.array(case["output"])
    assert tuple(out.shape) == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    clone = deserialize(json.loads(json.dumps(serialize(layer))))  # through JSON, as in a saved model
    assert clone.get_vocabulary() == layer.get_vocabulary()
    torch.testing.assert_close(clone(case["queries"]), out)


def test_text_vectorization_hand_computed_and_input_forms():
    layer = TextVectorization(output_sequence_length=4)
    layer.adapt(["b a", "a c!", "A"])
    # 'a' 3 times; 'b' and 'c' once each, and ties go in reverse byte order (Keras's rule): 'c' before 'b'.
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "c", "b"]
    torch.testing.assert_close(layer(["a b zebra", ""]), torch.tensor([[2, 4, 1, 0], [0, 0, 0, 0]]))
    torch.testing.assert_close(layer(np.array([["c a"]])), torch.tensor([[3, 2, 0, 0]]))  # (batch, 1) input
    torch.testing.assert_close(layer([b"C"]), torch.tensor([[3, 0, 0, 0]]))  # bytes are decoded
    assert layer.get_vocabulary(include_special_tokens=False) == ["a", "c", "b"]
    assert layer.compute_output_shape((None, 1)) == (None, 4)
    batches = TextVectorization(max_tokens=4)
    batches.adapt(iter([["x y", "y"], ["z y"]]))  # an iterable of batches, e.g. a tf.data.Dataset
    assert batches.get_vocabulary() == ["", "[UNK]", "y", "z"]


def test_text_vectorization_custom_standardize_and_split_save_with_custom_objects():
    def no_html(texts):  # receives a NumPy array of strings, as Keras 3 passes it on non-TensorFlow backends
        return np.char.replace(np.char.lower(texts), "<br />", " ")

    def on_commas(texts):
        return [text.split(",") for text in texts]

    layer = TextVectorization(standardize=no_html, split=on_commas)
    layer.adapt(["A<br />B,c", "c,d"])
    assert layer.get_vocabulary() == ["", "[UNK]", "c", "d", "a b"]
    config = json.loads(json.dumps(serialize(layer)))
    assert config["config"]["standardize"]["config"] == "no_html"
    with pytest.raises(
        ValueError, match=r"your own function 'no_html'. Pass it when loading: custom_objects="
    ):
        deserialize(config)
    clone = deserialize(config, custom_objects={"no_html": no_html, "on_commas": on_commas})
    torch.testing.assert_close(clone(["C,A<BR />B"]), layer(["C,A<BR />B"]))


def test_text_vectorization_errors_teach():
    with pytest.raises(
        ValueError,
        match=r"standardize must be one of 'lower_and_strip_punctuation'.*Received: standardize='upper'",
    ):
        TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match=r"one_hot is StringLookup's; use 'multi_hot'"):
        TextVectorization(output_mode="one_hot")
    with pytest.raises(ValueError, match="output_sequence_length is for output_mode='int' only"):
        TextVectorization(output_mode="count", output_sequence_length=4)
    with pytest.raises(ValueError, match="ragged=True .* is not supported"):
        TextVectorization(ragged=True)
    with pytest.raises(ValueError, match="max_tokens, if set, must be an integer greater than 1"):
        TextVectorization(max_tokens=1)
    with pytest.raises(RuntimeError, match=r"needs its vocabulary before it is called: call adapt\(texts\)"):
        TextVectorization(output_mode="multi_hot")(["a"])
    with pytest.raises(ValueError, match="Cannot adapt layer .* its vocabulary was given with vocabulary="):
        TextVectorization(vocabulary=["a"]).adapt(["b"])
    with pytest.raises(ValueError, match=r"the reserved token '\[UNK\]' is at position 1"):
        TextVectorization(vocabulary=["a", "[UNK]"])
    with pytest.raises(ValueError, match=r"repeats some tokens: \['a'\]"):
        TextVectorization(vocabulary=["a", "b", "a"])
    with pytest.raises(ValueError, match="needs idf_weights"):
        TextVectorization(output_mode="tf_idf", vocabulary=["a"])
    with pytest.raises(TypeError, match="takes strings .* received a torch tensor"):
        TextVectorization()(torch.zeros(2))
    with pytest.raises(ValueError, match=r"the input must be 1-D \(batch,\) or \(batch, 1\)"):
        TextVectorization()(np.array([["a", "b"]]))


def reviews(n, seed):
    """Synthetic movie reviews: filler words with one or two sentiment words; label 1 = positive."""
    positive, negative = (
        ["good", "great", "excellent", "wonderful", "loved", "superb"],
        ["bad", "awful", "terrible", "boring", "hated", "poor"],
    )
    filler = [
        "the",
        "movie",
        "was",
        "a",
        "film",
        "plot",
        "acting",
        "story",
        "really",
        "quite",
        "and",
        "it",
        "this",
    ]
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(0, 2))
        words = list(rng.choice(filler, size=rng.integers(4, 9)))
        for _ in range(rng.integers(1, 3)):
            words.insert(
                int(rng.integers(0, len(words) + 1)), str(rng.choice(positive if label else negative))
            )
        texts.append(" ".join(words).capitalize() + str(rng.choice([".", "!", "?"])))
        labels.append(label)
    return texts, np.array(labels)


def test_sentiment_classifier_with_text_vectorization_trains():
    texts, labels = reviews(300, seed=0)
    test_texts, test_labels = reviews(200, seed=1)
    vectorize = TextVectorization(max_tokens=40, output_sequence_length=12)
    vectorize.adapt(texts)
    model = Sequential([Embedding(40, 8, mask_zero=True), LSTM(8), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(vectorize(texts).numpy(), labels, epochs=20, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(vectorize(test_texts).numpy(), test_labels, verbose=0)
    assert accuracy >= 0.9  # measured 0.995
