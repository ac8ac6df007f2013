"""Seeded model-file fuzzing (issue 13, item 9): 1,200 damaged or edited copies of five files (four
models, one weights file). Every load must either raise ModelFileError or give a model identical to the
original: the same predictions, bit for bit, and the same weights after one more training step (which
exposes a changed optimizer state or compile setting). A second, smaller run edits the configs *and*
fixes the member list, as someone who knows the format would: the parser must still answer with a
ModelFileError or a model, never another exception."""

import json
import zipfile

import numpy as np
import pytest

from lstmkit import layers
from lstmkit.models import Sequential, load_model
from lstmkit.saving import ModelFileError
from lstmkit.utils import set_random_seed

from .edit import members, npy, rewrite

SEED = 13
TIMESTEPS, FEATURES = 4, 3


def _lstm():
    return Sequential([layers.LSTM(4, input_shape=(TIMESTEPS, FEATURES)), layers.Dense(2)])


def _models():
    """{name: (model, x, y, compiled)}: small, trained, of several layer and optimizer kinds."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, TIMESTEPS, FEATURES)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    onehot = np.eye(3, dtype="float32")[rng.integers(0, 3, 8)]
    tokens = rng.integers(1, 12, size=(8, 6))
    labels = rng.integers(0, 2, size=(8, 1)).astype("float32")

    a = _lstm()
    a.compile("adam", "mse")
    a.fit(x, y, epochs=1, batch_size=4, verbose=0)
    b = Sequential(
        [
            layers.Bidirectional(layers.GRU(3, return_sequences=True), input_shape=(TIMESTEPS, FEATURES)),
            layers.GRU(3, dropout=0.1),
            layers.Dense(3, activation="softmax"),
        ]
    )
    b.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    b.fit(x, onehot, epochs=1, batch_size=4, verbose=0)
    c = Sequential(
        [
            layers.Embedding(12, 4, input_length=6),
            layers.Conv1D(3, 2, activation="relu"),
            layers.MaxPooling1D(2),
            layers.LSTM(3),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    c.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    c.fit(tokens, labels, epochs=1, batch_size=4, verbose=0)
    d = Sequential([layers.SimpleRNN(3, input_shape=(TIMESTEPS, FEATURES)), layers.Dense(2)])
    d.build((None, TIMESTEPS, FEATURES))
    return {"A": (a, x, y), "B": (b, x, onehot), "C": (c, tokens, labels), "D": (d, x, y)}


class Reference:
    """A pristine file's behaviour: predictions, and weights after one step from the loaded state."""

    def __init__(self, path, x, y, weights_only=False):
        self.path, self.x, self.y, self.weights_only = path, x, y, weights_only
        self.predictions, self.after_step = self.behaviour(self.load(path))

    def load(self, path):
        if not self.weights_only:
            return load_model(path)
        model = _lstm()
        model.load_weights(path)
        return model

    def behaviour(self, model):
        set_random_seed(0)  # the step draws dropout masks
        predictions = model.predict(self.x, verbose=0)
        if model.optimizer is None:
            return predictions, None
        model.train_on_batch(self.x, self.y)
        return predictions, [w.copy() for w in model.get_weights()]

    def same(self, model) -> bool:
        predictions, after = self.behaviour(model)
        if not np.array_equal(predictions, self.predictions):
            return False
        if (after is None) != (self.after_step is None):
            return False
        return after is None or all(np.array_equal(p, q) for p, q in zip(after, self.after_step))


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    found = {}
    for name, (model, x, y) in _models().items():
        path = folder / f"{name}.keras"
        model.save(path)
        found[name] = Reference(path, x, y)
    model, x, y = _models()["A"]
    model.save_weights(folder / "E.weights.keras")
    found["E"] = Reference(folder / "E.weights.keras", x, y, weights_only=True)
    return found


# ---------------------------------------------------------------------------- mutations
def _central_directory_start(content: bytes) -> int:
    end = content.rfind(b"PK\x05\x06")
    return int.from_bytes(content[end + 16 : end + 20], "little")


def _flip(rng, content, lo=0, hi=None):
    data = bytearray(content)
    hi = len(data) if hi is None else hi
    for _ in range(int(rng.integers(1, 9))):
        data[int(rng.integers(lo, hi))] ^= 1 << int(rng.integers(0, 8))
    return bytes(data)


def _structured(rng, path, out):
    """A rewrite of the archive (CRCs recomputed, member list left as written)."""
    parts = members(path)
    arrays = [n for n in parts if n.endswith(".npy")]
    documents = [n for n in parts if n.endswith(".json") and n != "lstmkit.json"]
    kind = rng.integers(0, 9)
    target = arrays[int(rng.integers(len(arrays)))]
    content = parts[target][0]
    if kind == 0:  # header edits: dtype, byte order, memory order, shape
        old, new = [(b"<f4", b">f4"), (b"<f4", b"<i4"), (b"False", b"True "), (b"<f4", b"<f8")][
            int(rng.integers(4))
        ]
        edited = content[:128].replace(old, new, 1) + content[128:]
        return rewrite(path, out, {target: edited}, relist=False)
    if kind == 1:  # a value changed, or NaN
        values = np.frombuffer(content[128:], dtype="<f4").copy()
        if values.size:
            values[int(rng.integers(values.size))] = np.nan if rng.random() < 0.5 else rng.normal()
        return rewrite(path, out, {target: content[:128] + values.tobytes()}, relist=False)
    if kind == 2:  # two arrays swapped
        other = arrays[int(rng.integers(len(arrays)))]
        return rewrite(path, out, {target: parts[other][0], other: content}, relist=False)
    if kind == 3:  # a member renamed, dropped, or added
        victim = list(parts)[int(rng.integers(len(parts)))]
        choice = rng.integers(3)
        if choice == 0:
            return rewrite(path, out, rename={victim: victim[:-1] + "x"}, relist=False)
        if choice == 1:
            return rewrite(path, out, drop=[victim], relist=False)
        return rewrite(path, out, {"extra/0.npy": npy(np.ones(3, np.float32))}, relist=False)
    document = documents[int(rng.integers(len(documents)))]
    config = json.loads(parts[document][0])
    if kind == 4:  # a JSON document edited (a value flipped somewhere in it)
        _perturb(rng, config)
        return rewrite(path, out, {document: json.dumps(config).encode()}, relist=False)
    if kind == 5:  # lstmkit.json: the one document no hash covers
        meta = json.loads(parts["lstmkit.json"][0])
        _perturb(rng, meta)
        return rewrite(path, out, {"lstmkit.json": json.dumps(meta).encode()})
    if kind == 6:  # a stored array made deflated, or a JSON document stored
        return rewrite(
            path,
            out,
            relist=False,
            compress=zipfile.ZIP_DEFLATED if rng.random() < 0.5 else zipfile.ZIP_STORED,
        )
    if kind == 7:  # truncated
        data = path.read_bytes()
        out.write_bytes(data[: int(rng.integers(0, len(data)))])
        return out
    data = path.read_bytes()  # garbage appended or prepended
    junk = rng.bytes(int(rng.integers(1, 64)))
    out.write_bytes(data + junk if rng.random() < 0.5 else junk + data)
    return out


def _perturb(rng, document, depth=0):
    """Change one leaf of a JSON document: a number, a string, a bool, a list, or remove a key."""
    if isinstance(document, dict) and document:
        key = list(document)[int(rng.integers(len(document)))]
        value = document[key]
        if isinstance(value, (dict, list)) and value and depth < 12 and rng.random() < 0.8:
            return _perturb(rng, value, depth + 1)
        document[key] = _changed(rng, value) if rng.random() < 0.9 else None
        if rng.random() < 0.1:
            del document[key]
    elif isinstance(document, list) and document:
        index = int(rng.integers(len(document)))
        if isinstance(document[index], (dict, list)) and depth < 12:
            return _perturb(rng, document[index], depth + 1)
        document[index] = _changed(rng, document[index])


def _changed(rng, value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return [value + 1, -value, 0, 10**30, 2**31][int(rng.integers(5))]
    if isinstance(value, float):
        return [value * 2, -value, 1e300, float("nan")][int(rng.integers(4))]
    if isinstance(value, str):
        return [value + "x", "", value.upper(), "relu", "../../etc/passwd"][int(rng.integers(5))]
    return [1, "x", None, []][int(rng.integers(4))]


def _mutant(rng, path, out):
    content = path.read_bytes()
    roll = rng.random()
    if roll < 0.45:
        out.write_bytes(_flip(rng, content))
    elif roll < 0.6:
        out.write_bytes(_flip(rng, content, lo=_central_directory_start(content)))
    else:
        _structured(rng, path, out)
    return out


def _outcome(reference, path):
    try:
        model = reference.load(path)
    except ModelFileError:
        return "refused"
    return "identical" if reference.same(model) else "DIFFERENT"


def test_damaged_and_edited_files_are_refused_or_load_identically(references, tmp_path):
    rng = np.random.default_rng(SEED)
    names = sorted(references)
    counts, wrong = {}, []
    for i in range(1200):
        reference = references[names[i % len(names)]]
        mutant = _mutant(rng, reference.path, tmp_path / f"m{i % 7}.keras")
        try:
            outcome = _outcome(reference, mutant)
        except Exception as error:  # noqa: BLE001 - collected, every one reported below
            outcome = f"ESCAPED {type(error).__name__}: {str(error)[:200]}"
        counts[outcome.split(":")[0]] = counts.get(outcome.split(":")[0], 0) + 1
        if outcome not in ("refused", "identical"):
            wrong.append((i, names[i % len(names)], outcome))
    assert not wrong, (counts, wrong[:10])
    assert counts["refused"] >= 1000 and counts.get("identical", 0) >= 20, counts


# ---------------------------------------------------------------------------- edits with the list fixed
INVALID_EDITS = [
    ("units", 10**4000),
    ("units", -5),
    ("units", "16"),
    ("units", None),
    ("activation", {"class_name": "relux", "config": {}}),
    ("activation", {"module": "os", "class_name": "system", "config": {}}),
    ("activation", "builtins.eval"),
    ("kernel_initializer", {"class_name": "subprocess.Popen", "config": {}}),
    ("recurrent_regularizer", {"class_name": "__class__", "config": {}}),
    ("no_such_argument", 1),
]


@pytest.mark.parametrize("key, value", INVALID_EDITS)
def test_invalid_config_values_are_errors_even_with_a_fixed_member_list(references, tmp_path, key, value):
    path = references["A"].path
    config = json.loads(members(path)["model.json"][0])
    config["config"]["layers"][0]["config"][key] = value
    edited = rewrite(path, tmp_path / "e.keras", {"model.json": json.dumps(config).encode()})
    with pytest.raises(ModelFileError, match=r"model\.json|architecture"):
        load_model(edited)


def test_edited_documents_with_a_fixed_list_never_escape_as_other_errors(references, tmp_path):
    """Valid-but-different edits may load (the format cannot tell them from the author's intent), but
    nothing escapes as another exception, hangs or crashes."""
    rng = np.random.default_rng(SEED + 1)
    escaped = []
    for i in range(150):
        name = "ABCD"[i % 4]
        path = references[name].path
        parts = members(path)
        documents = [n for n in parts if n.endswith(".json") and n != "lstmkit.json"]
        document = documents[int(rng.integers(len(documents)))]
        config = json.loads(parts[document][0])
        _perturb(rng, config)
        edited = rewrite(path, tmp_path / "e.keras", {document: json.dumps(config).encode()})
        try:
            load_model(edited)
        except ModelFileError:
            pass
        except Exception as error:  # noqa: BLE001
            escaped.append((i, name, document, f"{type(error).__name__}: {str(error)[:160]}"))
    assert not escaped, escaped[:10]
