"""Model files cannot silently change meaning (issue 13, item 3): every member is listed with its size,
SHA-256 and array layout and checked on reading; required members must be there; unknown or absurd
config values are errors; every failure is a ModelFileError; format-1 files still load exactly."""

import json
import os
import zipfile

import numpy as np
import pytest
import torch

from lstmkit import layers
from lstmkit.models import Sequential, load_model
from lstmkit.saving import ModelFileError

from .edit import members, rewrite

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture
def saved(tmp_path):
    model = Sequential([layers.LSTM(3, input_shape=(4, 2)), layers.Dense(2)])
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4, 2)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    return model, path, x


def refused(path, *phrases):
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    return message


def npy_header_edit(content: bytes, old: bytes, new: bytes) -> bytes:
    head, rest = content[:128], content[128:]
    assert old in head
    return head.replace(old, new, 1) + rest


# ---------------------------------------------------------------------------- the member list
def test_every_member_is_listed_with_its_hash_and_layout(saved):
    _, path, _ = saved
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("lstmkit.json"))
        names = set(z.namelist()) - {"lstmkit.json"}
    assert meta["format_version"] == 2
    assert set(meta["members"]) == names
    kernel = meta["members"]["weights/0.npy"]
    assert kernel["dtype"] == "float32" and kernel["byte_order"] == "little" and kernel["order"] == "C"
    assert kernel["shape"] == [2, 12]
    import hashlib

    assert kernel["sha256"] == hashlib.sha256(members(path)["weights/0.npy"][0]).hexdigest()


@pytest.mark.parametrize(
    "old, new, what",
    [
        (b"'<f4'", b"'>f4'", "byte-swapped"),
        (b"'<f4'", b"'<i4'", "bits as int32"),
        (b"False", b"True ", "Fortran"),
    ],
)
def test_a_one_byte_header_edit_is_refused(tmp_path, saved, old, new, what):
    """The research's three silent edits (up to 1.33 off in predictions): refused by the SHA-256, by the
    listed layout when the hash was fixed too, and by the format-1 rules when there is no list at all."""
    _, path, _ = saved
    content = members(path)["weights/0.npy"][0]
    edited = {"weights/0.npy": npy_header_edit(content, old, new)}
    refused(rewrite(path, tmp_path / "a.keras", edited, relist=False), "weights/0.npy", "edited or damaged")
    # Someone fixed the hash but not the layout: the header disagrees with the listing.
    meta = json.loads(members(path)["lstmkit.json"][0])
    import hashlib

    meta["members"]["weights/0.npy"]["sha256"] = hashlib.sha256(edited["weights/0.npy"]).hexdigest()
    hashed = rewrite(path, tmp_path / "b.keras", {**edited, "lstmkit.json": json.dumps(meta).encode()})
    refused(hashed, "weights/0.npy", "listed")
    refused(rewrite(path, tmp_path / "c.keras", edited, format1=True), "weights/0.npy")


@pytest.mark.parametrize(
    "name", ["compile.json", "optimizer.json", "weights.json", "model.json", "weights/2.npy"]
)
def test_a_renamed_member_is_refused_not_ignored(tmp_path, saved, name):
    """A bit flip in a name in the zip directory (not covered by any CRC) used to drop the compile
    settings or the optimizer state silently."""
    _, path, _ = saved
    damaged = (
        name[:2] + chr(ord(name[2]) ^ 0x02) + name[3:]
    )  # one bit flipped, e.g. 'compile.json' -> 'coopile.json'
    message = refused(rewrite(path, tmp_path / "a.keras", rename={name: damaged}, relist=False), name)
    assert "missing" in message and damaged in message
    # Even with a fixed-up list, a file cannot lack a member its kind needs or half of a pair.
    if name != "weights/2.npy":
        refused(rewrite(path, tmp_path / "b.keras", rename={name: damaged}, relist=True), name)
        refused(rewrite(path, tmp_path / "c.keras", rename={name: damaged}, format1=True), name)


def test_unlisted_and_changed_members_are_refused(tmp_path, saved):
    _, path, _ = saved
    weights = members(path)["weights/1.npy"][0]
    changed = weights[:-4] + np.float32(0.5).tobytes()  # one weight's value, the header untouched
    refused(
        rewrite(path, tmp_path / "v.keras", {"weights/1.npy": changed}, relist=False),
        "weights/1.npy",
        "SHA-256",
    )
    refused(
        rewrite(path, tmp_path / "a.keras", {"extra.json": b"{}"}, relist=False),
        "extra.json",
        "does not list",
    )
    config = json.loads(members(path)["model.json"][0])
    config["config"]["layers"][0]["config"]["go_backwards"] = True
    refused(
        rewrite(path, tmp_path / "b.keras", {"model.json": json.dumps(config).encode()}, relist=False),
        "model.json",
        "SHA-256",
    )
    refused(
        rewrite(path, tmp_path / "c.keras", metadata={"members": {"model.json": {"size": 1}}}, relist=False),
        "malformed",
    )
    refused(rewrite(path, tmp_path / "d.keras", metadata={"members": {}}, relist=False), "members")
    refused(rewrite(path, tmp_path / "e.keras", metadata={"format_version": 1}, relist=False), "format 1")


# ---------------------------------------------------------------------------- values
def _with_config(path, dst, change, document="model.json"):
    config = json.loads(members(path)[document][0])
    change(config)
    return rewrite(path, dst, {document: json.dumps(config).encode()})


def test_an_unknown_activation_is_an_error_with_a_suggestion(tmp_path, saved):
    _, path, _ = saved

    def relux(config):
        config["config"]["layers"][0]["config"]["activation"] = {"class_name": "relux", "config": {}}

    message = refused(_with_config(path, tmp_path / "a.keras", relux), "relux", "Did you mean 'relu'")
    assert "architecture cannot be rebuilt" in message

    def os_system(config):
        config["config"]["layers"][1]["config"]["activation"] = {"module": "os", "class_name": "system"}

    refused(_with_config(path, tmp_path / "b.keras", os_system), "'system'")


@pytest.mark.parametrize(
    "place, value, phrase",
    [
        (
            ("config", "layers", 0, "config", "units"),
            10**4000,
            "absurd number at config.layers[0].config.units",
        ),
        (("config", "layers", 1, "config", "units"), float("nan"), "NaN at config.layers[1].config.units"),
        (("config", "layers", 0, "config", "units"), 10**5, "asks for 40,001,"),
        (("config", "layers", 0, "config", "units"), 20_000, "but the file holds only 80"),
    ],
)
def test_absurd_numbers_in_the_architecture_are_refused_at_load(tmp_path, saved, place, value, phrase):
    _, path, _ = saved

    def change(config):
        target = config
        for key in place[:-1]:
            target = target[key]
        target[place[-1]] = value

    refused(_with_config(path, tmp_path / "a.keras", change), phrase)


@pytest.mark.parametrize("rate, phrase", [(1e300, "beyond float32's range"), (-0.5, "learning_rate")])
def test_a_bad_learning_rate_is_refused_at_load_not_at_the_first_step(tmp_path, saved, rate, phrase):
    _, path, _ = saved

    def change(config):
        config["optimizer"]["config"]["learning_rate"] = rate

    refused(_with_config(path, tmp_path / "a.keras", change, "compile.json"), "compile.json", phrase)


def test_a_damaged_npy_header_is_a_model_file_error(tmp_path, saved):
    """numpy parses headers with Python's tokenizer: an unterminated string raised tokenize.TokenError."""
    _, path, _ = saved
    content = members(path)["weights/0.npy"][0]
    broken = npy_header_edit(content, b"{'descr': '<f4'", b"{'descr': '<f4 ")
    refused(rewrite(path, tmp_path / "a.keras", {"weights/0.npy": broken}, format1=True), "weights/0.npy")


def test_holding_only_weights_is_a_model_file_error(tmp_path, saved):
    model, _, _ = saved
    model.save_weights(tmp_path / "w.keras")
    refused(tmp_path / "w.keras", "holds only weights", "load_weights")


# ---------------------------------------------------------------------------- loading draws nothing
def test_load_model_leaves_the_global_random_state_alone(saved):
    _, path, x = saved
    before = torch.get_rng_state()
    loaded = load_model(path)
    assert torch.equal(before, torch.get_rng_state())
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), saved[0].predict(x, verbose=0))


# ---------------------------------------------------------------------------- format 1 still loads
def test_format_1_files_load_exactly():
    expected = np.load(os.path.join(FIXTURES, "v1_expected.npz"))
    lstm = load_model(os.path.join(FIXTURES, "v1_lstm_adam.keras"))
    np.testing.assert_array_equal(lstm.predict(expected["lstm_x"], verbose=0), expected["lstm_pred"])
    gru = load_model(os.path.join(FIXTURES, "v1_bigru_rmsprop.keras"))
    np.testing.assert_array_equal(gru.predict(expected["lstm_x"], verbose=0), expected["bigru_pred"])
    conv = load_model(os.path.join(FIXTURES, "v1_embedding_conv_lstm_sgd.keras"))
    np.testing.assert_array_equal(conv.predict(expected["conv_x"], verbose=0), expected["conv_pred"])
    # The optimizer state came back too: the next step is the one the saving model took.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4, 3)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    np.testing.assert_array_equal(x, expected["lstm_x"])
    lstm.train_on_batch(x, y)
    np.testing.assert_array_equal(
        np.concatenate([w.ravel() for w in lstm.get_weights()]), expected["lstm_after_step"]
    )
    fresh = Sequential([layers.LSTM(5, input_shape=(4, 3)), layers.Dense(2)])
    fresh.load_weights(os.path.join(FIXTURES, "v1_lstm_weights.lstmkit"))
    np.testing.assert_array_equal(fresh.predict(expected["lstm_x"], verbose=0), expected["lstm_pred"])
