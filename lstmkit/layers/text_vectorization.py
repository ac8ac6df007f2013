"""TextVectorization: Keras 3's layer that turns strings into token indices (or multi-hot, count, tf-idf
vectors), with Keras's standardization, splitting, vocabulary order and special tokens.

The layer is preprocessing: call it on strings (a list, a NumPy array of shape ``(batch,)`` or
``(batch, 1)``, or one string) and feed the resulting tensor to a model, e.g. ``x = vectorize(texts)``,
then ``Embedding`` + ``LSTM``. Its vocabulary comes from ``adapt(texts)`` or ``vocabulary=``.

Keras's rules, reproduced exactly (checked against Keras 3.15.1):
- ``standardize``, ``split`` and ``ngrams``: lstmkit/layers/text_tokenization.py (e.g. ``'lower'`` lower-cases
  ASCII letters only, as TensorFlow does).
- ``adapt`` orders the vocabulary by frequency, most frequent first; ties in *reverse* byte order of the
  tokens. ``max_tokens`` counts the special tokens.
- ``output_mode='int'``: index 0 is the padding (mask) token ``''``, 1 the out-of-vocabulary token
  ``'[UNK]'``, words from 2; rows are padded with 0 to the longest in the batch, or cut/padded to
  ``output_sequence_length``. Other modes have no mask token: ``'[UNK]'`` is 0, words from 1, and the output
  is ``(batch, vocabulary_size)`` (``max_tokens`` with ``pad_to_max_tokens``).
- ``'tf_idf'`` weights counts by ``log(1 + documents / (1 + documents containing the token))`` (``'[UNK]'``
  gets the mean weight). ``'multi_hot'``/``'count'`` give int64, as Keras does; ``'tf_idf'`` float32.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmkit.layers.base import Layer
from lstmkit.layers.text_tokenization import SPLIT, STANDARDIZE, decode, option, tokenize
from lstmkit.utils.checks import check_int

__all__ = ["TextVectorization"]

_MODES = ("int", "multi_hot", "count", "tf_idf")
_MODE_ALIASES = {"binary": "multi_hot", "tf-idf": "tf_idf"}
MASK_TOKEN, OOV_TOKEN = "", "[UNK]"


class TextVectorization(Layer):
    """Strings -> token indices or token-count vectors.

    Input: strings, shape ``(batch,)`` or ``(batch, 1)`` (or one string). Output (a torch tensor):
    ``'int'``: ``(batch, length)`` int64; ``'multi_hot'``/``'count'``/``'tf_idf'``: ``(batch, depth)``.
    With ``split=None`` each string is one token and ``'int'`` keeps the input's shape.
    """

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        vocabulary=None,
        idf_weights=None,
        sparse=False,
        ragged=False,
        encoding="utf-8",
        has_input_vocabulary=None,
        vocabulary_size=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.standardize = option(standardize, "standardize", STANDARDIZE)
        self.split = option(split, "split", SPLIT)
        output_mode = _MODE_ALIASES.get(output_mode, output_mode)
        if output_mode not in _MODES:
            hint = " (one_hot is StringLookup's; use 'multi_hot')" if output_mode == "one_hot" else ""
            raise ValueError(
                f"TextVectorization: output_mode must be one of {', '.join(repr(m) for m in _MODES)}{hint}. "
                f"Received: output_mode={output_mode!r}"
            )
        self.output_mode = output_mode
        if max_tokens is not None and (
            not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens <= 1
        ):
            raise ValueError(
                f"TextVectorization: max_tokens, if set, must be an integer greater than 1 (it counts the special "
                f"tokens). Received: max_tokens={max_tokens!r}"
            )
        self.max_tokens = max_tokens
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(
                "TextVectorization: pad_to_max_tokens=True needs max_tokens. Received: max_tokens=None"
            )
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(
                    f"TextVectorization: output_sequence_length is for output_mode='int' only. Received: "
                    f"output_sequence_length={output_sequence_length!r} with output_mode={output_mode!r}."
                )
            output_sequence_length = check_int(
                output_sequence_length,
                "output_sequence_length",
                1,
                allow_none=True,
                owner="TextVectorization",
            )
        self.output_sequence_length = output_sequence_length
        if ngrams is not None and not (
            isinstance(ngrams, int)
            or (isinstance(ngrams, (tuple, list)) and all(isinstance(n, int) for n in ngrams))
        ):
            raise ValueError(
                f"TextVectorization: ngrams must be None, an integer, or a tuple of integers. Received: ngrams={ngrams!r}"
            )
        self.ngrams = tuple(ngrams) if isinstance(ngrams, (tuple, list)) else ngrams
        self._ngram_widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else self.ngrams
        if sparse:
            raise ValueError(
                "TextVectorization: sparse=True (TensorFlow's SparseTensor output) is not supported."
            )
        if ragged:
            raise ValueError(
                "TextVectorization: ragged=True (TensorFlow's RaggedTensor output) is not supported; rows are padded "
                "with 0 (the mask token), or set output_sequence_length."
            )
        self.encoding = encoding
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                "TextVectorization: idf_weights is only for output_mode='tf_idf'. Received: "
                f"output_mode={output_mode!r}."
            )
        self._has_input_vocabulary = (
            vocabulary is not None if has_input_vocabulary is None else bool(has_input_vocabulary)
        )
        self._tokens: list[str] = []
        self._index: dict[str, int] = {}
        self._weights: np.ndarray | None = None
        self._declared_vocabulary_size = vocabulary_size
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif output_mode == "tf_idf" and idf_weights is not None:
            raise ValueError("TextVectorization: idf_weights were given without a vocabulary.")
        self.built = True  # no weights: the vocabulary is the state

    # ------------------------------------------------------------------ special tokens and sizes
    @property
    def _specials(self) -> list[str]:
        return [MASK_TOKEN, OOV_TOKEN] if self.output_mode == "int" else [OOV_TOKEN]

    @property
    def _oov_index(self) -> int:
        return 1 if self.output_mode == "int" else 0

    def vocabulary_size(self) -> int:
        """The number of indices, special tokens included."""
        return len(self._specials) + len(self._tokens)

    def get_vocabulary(self, include_special_tokens=True) -> list[str]:
        """The tokens in index order: ``['', '[UNK]', 'the', ...]`` (``'int'`` mode; other modes start with
        ``'[UNK]'``)."""
        return (self._specials if include_special_tokens else []) + list(self._tokens)

    # ------------------------------------------------------------------ vocabulary
    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Use ``vocabulary`` (a list of tokens, or the path of a file with one token per line). It may start
        with the special tokens, in order (``''``, ``'[UNK]'`` in ``'int'`` mode); ``'tf_idf'`` also needs
        ``idf_weights``, one per entry of ``vocabulary``."""
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("TextVectorization: output_mode='tf_idf' needs idf_weights with the vocabulary.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError("TextVectorization: idf_weights is only for output_mode='tf_idf'.")
        if isinstance(vocabulary, str):
            if self.output_mode == "tf_idf":
                raise ValueError(
                    "TextVectorization: output_mode='tf_idf' cannot read its vocabulary from a file."
                )
            try:
                with open(vocabulary, encoding=self.encoding) as file:
                    vocabulary = [line.rstrip("\r\n") for line in file]
            except OSError as error:
                raise ValueError(
                    f"TextVectorization: cannot read the vocabulary file {vocabulary!r}: {error}"
                ) from None
        vocabulary = [decode(token, self.encoding) for token in np.asarray(vocabulary, dtype=object).ravel()]
        if not vocabulary:
            raise ValueError("TextVectorization: cannot set an empty vocabulary.")
        specials = self._specials
        found_specials = vocabulary[: len(specials)] == specials
        tokens = vocabulary[len(specials) :] if found_specials else vocabulary
        repeated = sorted({t for t in tokens if tokens.count(t) > 1})
        if repeated:
            raise ValueError(
                f"TextVectorization: the vocabulary repeats some tokens: {repeated}. Remove the repeats."
            )
        for special in specials:
            if special in tokens:
                raise ValueError(
                    f"TextVectorization: the reserved token {special!r} is at position {vocabulary.index(special)} "
                    f"of the vocabulary. Leave the special tokens out, or put them first, in this order: {specials}."
                )
        if self.max_tokens is not None and len(specials) + len(tokens) > self.max_tokens:
            raise ValueError(
                f"TextVectorization: the vocabulary has {len(specials) + len(tokens)} entries with the special "
                f"tokens, more than max_tokens={self.max_tokens}."
            )
        if self._declared_vocabulary_size is not None and self._declared_vocabulary_size != len(
            specials
        ) + len(tokens):
            raise ValueError(
                f"TextVectorization: the config says vocabulary_size={self._declared_vocabulary_size}, but the "
                f"vocabulary has {len(specials) + len(tokens)} entries (with the special tokens)."
            )
        weights = None
        if idf_weights is not None:
            idf = np.asarray(idf_weights, dtype=np.float64)
            if idf.ndim != 1 or len(idf) != len(vocabulary):
                raise ValueError(
                    f"TextVectorization: idf_weights must be a 1-D list as long as the vocabulary ({len(vocabulary)}); "
                    f"received shape {idf.shape}."
                )
            front = [] if found_specials else [float(np.mean(idf))] * len(specials)
            weights = np.concatenate([front, idf]).astype(np.float32)
        self._set_tokens(tokens, weights)
        self._declared_vocabulary_size = None  # checked once, against the config's vocabulary

    def _set_tokens(self, tokens, weights=None) -> None:
        start = len(self._specials)
        self._tokens = list(tokens)
        self._index = {token: start + i for i, token in enumerate(self._tokens)}
        if weights is not None and self.pad_to_max_tokens:
            weights = np.pad(weights, (0, self.max_tokens - len(weights)))
        self._weights = weights

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learn the vocabulary (and, for ``'tf_idf'``, the document frequencies) from ``data``: strings (a list
        or NumPy array), or an iterable of batches of strings (a generator, a ``tf.data.Dataset``)."""
        if self._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}': its vocabulary was given with vocabulary= (or set_vocabulary). "
                "Make a new TextVectorization without vocabulary= to learn one from data."
            )
        if isinstance(data, (str, bytes, list, tuple, np.ndarray)):
            batches = [data]
        else:
            batches = (batch for i, batch in enumerate(data) if steps is None or i < steps)
        counts: dict[str, int] = {}
        documents: dict[str, int] = {}
        number_of_documents = 0
        for batch in batches:
            for tokens in self._tokenize(batch)[0]:
                number_of_documents += 1
                for token in tokens:
                    counts[token] = counts.get(token, 0) + 1
                for token in set(tokens):
                    documents[token] = documents.get(token, 0) + 1
        for special in (MASK_TOKEN, OOV_TOKEN):
            counts.pop(special, None)
        if not counts:
            return  # as Keras: nothing learned, the vocabulary stays as it was
        # Most frequent first; ties in reverse byte order (Keras sorts (count, token) and reverses).
        ranked = sorted(counts, key=lambda t: (counts[t], t.encode("utf-8")), reverse=True)
        if self.max_tokens is not None:
            ranked = ranked[: self.max_tokens - len(self._specials)]
        weights = None
        if self.output_mode == "tf_idf":
            doc_counts = np.array([documents[t] for t in ranked], dtype=np.float64)
            idf = np.log(1.0 + number_of_documents / (1.0 + doc_counts)).astype(np.float32)
            weights = np.concatenate([np.full(len(self._specials), idf.mean(), dtype=np.float32), idf])
        self._set_tokens(ranked, weights)

    # ------------------------------------------------------------------ strings -> tokens
    def _tokenize(self, inputs) -> tuple[list[list[str]], tuple]:
        """(one token list per document, the shape of the documents' array): lstmkit/layers/text_tokenization.py."""
        return tokenize(inputs, self.standardize, self.split, self.encoding, self._ngram_widths)

    # ------------------------------------------------------------------ calling
    def forward(self, inputs, *args, **kwargs):
        # Strings are not tensors: skip the base class's conversion of the inputs.
        return self.call(inputs)

    def call(self, inputs):
        documents, shape = self._tokenize(inputs)
        oov = self._oov_index
        if self.output_mode == "int":
            ids = [
                [0 if t == MASK_TOKEN else self._index.get(t, oov) for t in tokens] for tokens in documents
            ]
            if self.split is None:
                return torch.tensor([row[0] for row in ids], dtype=torch.int64).reshape(shape)
            length = self.output_sequence_length
            if length is None:
                length = max((len(row) for row in ids), default=0)
            out = torch.zeros((len(ids), length), dtype=torch.int64)
            for i, row in enumerate(ids):
                row = row[:length]
                out[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
            return out.reshape(tuple(shape) + (length,))
        if not self._tokens and not self.pad_to_max_tokens:
            raise RuntimeError(
                f"TextVectorization with output_mode='{self.output_mode}' needs its vocabulary before it is called: "
                "call adapt(texts) or pass vocabulary=."
            )
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        counts = np.zeros((len(documents), depth), dtype=np.int64)
        for i, tokens in enumerate(documents):
            for token in tokens:
                if token != MASK_TOKEN:
                    counts[i, self._index.get(token, oov)] += 1
        counts = counts.reshape(tuple(shape) + (depth,))
        if self.output_mode == "multi_hot":
            return torch.from_numpy(np.minimum(counts, 1))
        if self.output_mode == "count":
            return torch.from_numpy(counts)
        return torch.from_numpy(counts.astype(np.float32) * self._weights[:depth])

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            if self.split is None:
                return input_shape
            return (input_shape[0], self.output_sequence_length)
        depth = (
            self.max_tokens if self.pad_to_max_tokens else (self.vocabulary_size() if self._tokens else None)
        )
        return (input_shape[0], depth)

    # ------------------------------------------------------------------ config
    @staticmethod
    def _serializeoption(value):
        if callable(value):
            name = getattr(value, "__name__", type(value).__name__)
            return {"class_name": "function", "config": name, "registered_name": name}
        return value

    def get_config(self):
        """The settings and the vocabulary (learned or given; with the special tokens), so that
        ``from_config`` gives a layer that maps every string the same way."""
        config = {
            **super().get_config(),
            "max_tokens": self.max_tokens,
            "standardize": self._serializeoption(self.standardize),
            "split": self._serializeoption(self.split),
            "ngrams": list(self.ngrams) if isinstance(self.ngrams, tuple) else self.ngrams,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "sparse": False,
            "ragged": False,
            "vocabulary": self.get_vocabulary() if self._tokens else None,
            "idf_weights": None,
            "encoding": self.encoding,
            "vocabulary_size": self.vocabulary_size() if self._tokens else None,
            "has_input_vocabulary": self._has_input_vocabulary,
        }
        if self._weights is not None and self._tokens:
            config["idf_weights"] = [float(w) for w in self._weights[: self.vocabulary_size()]]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A layer from ``get_config()`` (or Keras 3's config); your own standardize/split functions come from
        ``custom_objects``."""
        config = dict(config)
        for key, options in (("standardize", STANDARDIZE), ("split", SPLIT)):
            if key in config:
                config[key] = option(config[key], key, options, custom_objects)
        return cls(**config)
