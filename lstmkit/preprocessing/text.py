"""Keras 2's text preprocessing (``keras.preprocessing.text``): ``Tokenizer``, ``tokenizer_from_json``,
``text_to_word_sequence``, ``one_hot`` and ``hashing_trick``, with Keras 2's exact behaviour.

What the text-generation and sentiment tutorials rely on:

- ``fit_on_texts`` numbers words by frequency, most frequent first, from 1 (0 is reserved for padding); words
  seen equally often keep the order in which they first appeared. With ``oov_token`` that token is index 1.
- ``num_words`` counts the reserved 0: ``num_words=1000`` keeps indices 1..999. It applies when converting
  (``texts_to_sequences``, ``texts_to_matrix``), not to ``word_index``, which always holds every word.
- Words are lower-cased, the characters of ``filters`` become separators, and the text is split on ``split``.
  With ``char_level=True`` every character is a token (lower-cased; ``filters`` are not applied).

Keras 3's replacement is the ``TextVectorization`` layer (``lstmkit.layers.TextVectorization``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import OrderedDict, defaultdict

import numpy as np

from lstmkit.utils.checks import check_int

__all__ = ["Tokenizer", "hashing_trick", "one_hot", "text_to_word_sequence", "tokenizer_from_json"]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(input_text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """``"The cat, the hat."`` -> ``["the", "cat", "the", "hat"]``: lower-case (``lower``), turn every
    character of ``filters`` into ``split``, split on ``split``, drop empty pieces."""
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans(dict.fromkeys(filters, split)))
    return [word for word in input_text.split(split) if word]


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """Each word of ``text`` as ``hash(word) % (n - 1) + 1``: indices in 1..n-1, distinct words may collide.

    ``hash_function``: None for Python's ``hash`` (which varies between interpreter runs unless
    ``PYTHONHASHSEED`` is set, as in Keras), ``'md5'`` for a stable one, or any callable ``str -> int``.
    """
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":

        def hash_function(word):
            return int(hashlib.md5(word.encode()).hexdigest(), 16)

    words = (
        text_to_word_sequence(text, filters=filters, lower=lower, split=split)
        if analyzer is None
        else analyzer(text)
    )
    return [hash_function(word) % (n - 1) + 1 for word in words]


def one_hot(input_text, n, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """Keras 2's ``one_hot``: despite the name, word indices from ``hashing_trick`` with Python's ``hash``."""
    return hashing_trick(
        input_text, n, hash_function=hash, filters=filters, lower=lower, split=split, analyzer=analyzer
    )


class Tokenizer:
    """Turns texts into sequences of word indices (or count/tf-idf matrices), Keras 2's way.

    ``fit_on_texts(texts)`` builds ``word_index`` (word -> index, from 1), ``index_word``, ``word_counts``
    (word -> occurrences, in first-seen order), ``word_docs`` (word -> number of texts containing it),
    ``index_docs`` and ``document_count``. ``texts_to_sequences(texts)`` gives one list of indices per text;
    ``sequences_to_texts`` goes back; ``texts_to_matrix(texts, mode)`` gives ``(len(texts), num_words)``
    arrays in mode ``'binary'``, ``'count'``, ``'tfidf'`` or ``'freq'``. A text may also be a list of
    tokens. ``to_json()`` / ``tokenizer_from_json`` save and restore a fitted tokenizer.
    """

    def __init__(
        self,
        num_words=None,
        filters=DEFAULT_FILTERS,
        lower=True,
        split=" ",
        char_level=False,
        oov_token=None,
        analyzer=None,
        document_count=0,
        nb_words=None,
    ):
        if nb_words is not None:
            warnings.warn(
                "Tokenizer: `nb_words` is Keras 1's name for `num_words`; using it as num_words.",
                DeprecationWarning,
                stacklevel=2,
            )
            num_words = nb_words
        self.num_words = check_int(
            num_words,
            "num_words",
            1,
            allow_none=True,
            owner="Tokenizer",
            meaning="the number of indices kept, counting the reserved 0; None keeps all",
        )
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.analyzer = analyzer
        self.document_count = document_count
        self.word_counts: dict = OrderedDict()
        self.word_docs: dict = defaultdict(int)
        self.index_docs: dict = defaultdict(int)
        self.word_index: dict = {}
        self.index_word: dict = {}

    # ------------------------------------------------------------------ tokens of one text
    def _tokens(self, text) -> list:
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return list(text)
        if not isinstance(text, str):
            raise TypeError(
                f"Tokenizer: each text must be a string (or a list of tokens). Received a {type(text).__name__}: "
                f"{text!r}. To tokenize a NumPy array of strings, pass it as it is (its items are strings); for "
                "bytes, decode them first."
            )
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, filters=self.filters, lower=self.lower, split=self.split)

    @staticmethod
    def _check_texts(texts, method: str):
        if isinstance(texts, str):
            raise TypeError(
                f"Tokenizer.{method} takes a list of texts; received one string ({texts[:40]!r}...). Wrap it in a "
                f"list: {method}([text])."
            )
        return texts

    # ------------------------------------------------------------------ fitting
    def fit_on_texts(self, texts) -> None:
        """Count the words of ``texts`` (strings, or lists of tokens) and (re)number them by frequency."""
        for text in self._check_texts(texts, "fit_on_texts"):
            self.document_count += 1
            tokens = self._tokens(text)
            for token in tokens:
                self.word_counts[token] = self.word_counts.get(token, 0) + 1
            for token in set(tokens):
                self.word_docs[token] += 1
        # sorted() is stable: equally frequent words keep their first-seen order.
        by_frequency = sorted(self.word_counts.items(), key=lambda item: item[1], reverse=True)
        vocabulary = ([] if self.oov_token is None else [self.oov_token]) + [word for word, _ in by_frequency]
        self.word_index = dict(zip(vocabulary, range(1, len(vocabulary) + 1)))
        self.index_word = {index: word for word, index in self.word_index.items()}
        for word, count in list(self.word_docs.items()):
            self.index_docs[self.word_index[word]] = count

    def fit_on_sequences(self, sequences) -> None:
        """Count, for ``texts_to_matrix(mode='tfidf')``, in how many sequences each index occurs."""
        self.document_count += len(sequences)
        for sequence in sequences:
            for index in set(sequence):
                self.index_docs[index] += 1

    # ------------------------------------------------------------------ converting
    def texts_to_sequences(self, texts) -> list[list[int]]:
        """One list of word indices per text; words outside ``word_index`` or at an index >= ``num_words``
        become ``oov_token``'s index, or are dropped when there is no ``oov_token``."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for text in self._check_texts(texts, "texts_to_sequences"):
            sequence = []
            for token in self._tokens(text):
                index = self.word_index.get(token)
                if index is not None and not (num_words and index >= num_words):
                    sequence.append(index)
                elif oov_index is not None:
                    sequence.append(oov_index)
            yield sequence

    def sequences_to_texts(self, sequences) -> list[str]:
        """Each sequence of indices back to words joined by spaces (unknown or cut-off indices become
        ``oov_token``, or are dropped without one)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for sequence in sequences:
            words = []
            for index in sequence:
                word = self.index_word.get(index)
                if word is not None and not (num_words and index >= num_words):
                    words.append(word)
                elif oov_index is not None:
                    words.append(self.index_word[oov_index])
            yield " ".join(words)

    def texts_to_matrix(self, texts, mode="binary") -> np.ndarray:
        """``(len(texts), num_words)`` float64 array (``len(word_index) + 1`` columns without ``num_words``)."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary") -> np.ndarray:
        """Column j of row i: ``'binary'`` 1 if index j occurs in sequence i; ``'count'`` how often;
        ``'freq'`` how often / the sequence's length; ``'tfidf'`` ``(1 + log(count)) * log(1 + documents /
        (1 + documents containing j))``."""
        if mode not in _MODES:
            raise ValueError(
                f"Tokenizer: mode must be one of {', '.join(repr(m) for m in _MODES)}. Received: mode={mode!r}"
            )
        if self.num_words:
            num_words = self.num_words
        elif self.word_index:
            num_words = len(self.word_index) + 1
        else:
            raise ValueError(
                "Tokenizer: give num_words (the number of matrix columns), or call fit_on_texts first."
            )
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Tokenizer: fit it on some texts (fit_on_texts) before using mode='tfidf'.")
        matrix = np.zeros((len(sequences), num_words))
        for row, sequence in enumerate(sequences):
            if not sequence:
                continue
            counts: dict = defaultdict(int)
            for index in sequence:
                if index < num_words:
                    counts[index] += 1
            for index, count in counts.items():
                if mode == "count":
                    matrix[row, index] = count
                elif mode == "freq":
                    matrix[row, index] = count / len(sequence)
                elif mode == "binary":
                    matrix[row, index] = 1
                else:
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(index, 0)))
                    matrix[row, index] = (1 + np.log(count)) * idf
        return matrix

    # ------------------------------------------------------------------ saving
    def get_config(self) -> dict:
        """Keras 2's config: the settings, and the fitted tables as JSON strings."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs) -> str:
        """A JSON string that ``tokenizer_from_json`` turns back into this tokenizer (``kwargs`` go to
        ``json.dumps``). A custom ``analyzer`` is not saved."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string) -> Tokenizer:
    """The Tokenizer that ``Tokenizer.to_json()`` (lstmkit's or Keras 2's) described."""
    try:
        config = dict(json.loads(json_string)["config"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            "tokenizer_from_json needs the string that Tokenizer.to_json() returned, a JSON object with "
            f"'class_name' and 'config'. Could not read it: {error}"
        ) from None
    tables = {
        key: json.loads(config.pop(key))
        for key in ("word_counts", "word_docs", "index_docs", "index_word", "word_index")
    }
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = tables["word_counts"]
    # Counters, as fit_on_texts/fit_on_sequences made them: fitting on more texts after loading adds to them.
    tokenizer.word_docs = defaultdict(int, tables["word_docs"])
    tokenizer.index_docs = defaultdict(int, {int(k): v for k, v in tables["index_docs"].items()})
    tokenizer.index_word = {int(k): v for k, v in tables["index_word"].items()}
    tokenizer.word_index = tables["word_index"]
    return tokenizer
