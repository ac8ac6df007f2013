"""Keras model configs (Keras 3, tf.keras 2, Keras 2.0-2.2, Keras 1 names) -> lstmkit configs.

lstmkit's layers take Keras's argument names, so most of a Keras config passes as it is. This module
does the rest, key by key, and refuses what it does not know rather than dropping it:

* Only known classes are built: lstmkit's own layers (a Keras alias such as ``CuDNNLSTM`` maps to the
  standard layer) or the classes in ``custom_objects``. A config's ``module`` field is never imported.
* A ``Lambda`` layer's function is Python bytecode; it is never unmarshalled. The user supplies the
  function or a layer class through ``custom_objects`` (keyed by the layer's or the function's name).
* Keras-only bookkeeping is dropped (``module``, ``registered_name``, ``build_config``, dtype policies
  become dtype names); arguments that do not change what the model computes are dropped at their
  neutral value only (``time_major=False``, ``kernel_constraint=None``, ``implementation``, ...), and
  any other value of them is refused, naming the file, the layer and the key.
* Keras 2 and Keras 1 spellings are renamed (``output_dim`` -> ``units``, ``inner_init`` ->
  ``recurrent_initializer``, ...); Keras 2 Sequential configs that are a bare list are accepted.
"""

from __future__ import annotations

from lstmkit.saving.archive import ModelFileError
from lstmkit.utils.naming import did_you_mean

__all__ = ["Translator"]

MODEL_CLASSES = ("Sequential", "Functional", "Model")

# Class names that are another name for an lstmkit layer, with the arguments that make them equal.
CLASS_ALIASES = {
    "CuDNNLSTM": ("LSTM", {}),
    # cuDNN's GRU is GRU(reset_after=True) with the default (sigmoid) recurrent activation.
    "CuDNNGRU": ("GRU", {"reset_after": True, "recurrent_activation": "sigmoid"}),
    "Convolution1D": ("Conv1D", {}),
}


def _is_none(value):
    return value is None


def _is_false(value):
    return value is False or value is None


def _anything(value):
    return True


# Arguments lstmkit layers may not take, dropped only at these values (they change nothing computed).
# implementation: Keras 2 RNNs' scheduling of the same math; fused: BatchNormalization's kernel choice.
NEUTRAL = {
    "activity_regularizer": _is_none,
    "kernel_constraint": _is_none,
    "recurrent_constraint": _is_none,
    "bias_constraint": _is_none,
    "embeddings_constraint": _is_none,
    "gamma_constraint": _is_none,
    "beta_constraint": _is_none,
    "depthwise_constraint": _is_none,
    "pointwise_constraint": _is_none,
    "quantization_config": _is_none,
    "lora_rank": _is_none,
    "lora_alpha": _is_none,
    "time_major": _is_false,
    "implementation": _anything,
    "sparse": _is_false,
    "ragged": _is_false,
    "optional": _is_false,
    "seed": _is_none,
    "noise_shape": _is_none,
    "batch_size": _is_none,
    "synchronized": _is_false,
    "renorm": _is_false,
    "renorm_clipping": _is_none,
    "renorm_momentum": _anything,
    "virtual_batch_size": _is_none,
    "adjustment": _is_none,
    "fused": _anything,
    "autocast": _anything,
    "input_axes": _is_none,
    "output_axes": _is_none,
    "data_format": lambda value: value in (None, "channels_last"),
    "groups": lambda value: value == 1,
    "keepdims": _is_false,
    "unroll": _anything,
}

# Keras 1 argument names (renamed in Keras 2) for the layers that tutorials of that time used.
_KERAS1_RNN = {
    "W_constraint": "kernel_constraint",
    "U_constraint": "recurrent_constraint",
    "b_constraint": "bias_constraint",
    "output_dim": "units",
    "init": "kernel_initializer",
    "inner_init": "recurrent_initializer",
    "inner_activation": "recurrent_activation",
    "W_regularizer": "kernel_regularizer",
    "U_regularizer": "recurrent_regularizer",
    "b_regularizer": "bias_regularizer",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
    "consume_less": "implementation",
}
KERAS1_NAMES = {
    "LSTM": _KERAS1_RNN,
    "GRU": _KERAS1_RNN,
    "SimpleRNN": _KERAS1_RNN,
    "Dense": {
        "output_dim": "units",
        "init": "kernel_initializer",
        "W_regularizer": "kernel_regularizer",
        "b_regularizer": "bias_regularizer",
        "bias": "use_bias",
        "W_constraint": "kernel_constraint",
        "b_constraint": "bias_constraint",
    },
    "Embedding": {"init": "embeddings_initializer", "W_regularizer": "embeddings_regularizer"},
    "Conv1D": {
        "nb_filter": "filters",
        "filter_length": "kernel_size",
        "subsample_length": "strides",
        "border_mode": "padding",
        "init": "kernel_initializer",
        "W_regularizer": "kernel_regularizer",
        "b_regularizer": "bias_regularizer",
        "bias": "use_bias",
    },
    "MaxPooling1D": {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"},
    "AveragePooling1D": {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"},
    "Dropout": {"p": "rate"},
}
_KERAS1_INITIALIZERS = {
    "one": "ones",
    "zero": "zeros",
    "normal": "random_normal",
    "uniform": "random_uniform",
}

# Keys whose value is a nested serialized layer, and those holding a list of them.
NESTED_LAYER_KEYS = ("layer", "backward_layer", "cell")
NESTED_LAYER_LISTS = ("cells",)
INITIALIZER_KEYS = ("initializer",)
REGULARIZER_KEYS = ("regularizer",)


def _strip_meta(serialized: dict) -> dict:
    """``{"class_name", "config"}`` of a Keras 3 serialized object (module, registered_name and
    build_config dropped: nothing is imported from them)."""
    return {"class_name": serialized.get("class_name"), "config": serialized.get("config")}


def keras_version(version) -> tuple[int, int] | None:
    """(major, minor) of a Keras version string such as '2.2.4' or '3.15.1'; None if there is none."""
    parts = str(version or "").split(".")
    if len(parts) < 2 or not parts[0].isdigit():
        return None
    minor = "".join(c for c in parts[1] if c.isdigit()) or "0"
    return int(parts[0]), int(minor)


class Translator:
    """Translates the configs of one file. ``path`` names the file in errors; ``classes`` is the table of
    classes that may be built (lstmkit's own plus ``custom_objects``)."""

    def __init__(self, path, custom_objects=None, keras_version=None, safe_mode=True):
        from lstmkit.layers.serialization import layer_classes

        self.path = path
        self.custom_objects = dict(custom_objects or {})
        self.keras_version = str(keras_version or "")
        self.safe_mode = bool(safe_mode)
        own = {name: cls for name, cls in layer_classes().items() if cls.__module__.startswith("lstmkit.")}
        self.own = own
        self.classes = {**own, **{k: v for k, v in self.custom_objects.items() if isinstance(v, type)}}
        # Keras class name of each translated layer, by layer name (weights in .keras files are stored
        # under paths made from the Keras class names).
        self.keras_class_names: dict[str, str] = {}

    def error(self, problem: str) -> ModelFileError:
        return ModelFileError(self.path, problem)

    # ------------------------------------------------------------------ models
    def model(self, serialized: dict, where: str = "the model config") -> dict:
        """A Keras model config -> ``{"class_name": "Sequential" | "Functional", "config": {...}}``."""
        if not isinstance(serialized, dict) or not isinstance(serialized.get("class_name"), str):
            raise self.error(f"{where} is not a Keras model config (it has no 'class_name').")
        class_name = serialized["class_name"]
        config = serialized.get("config")
        if class_name == "Sequential":
            if isinstance(config, list):  # Keras 2.0-2.2: the layer list itself
                config = {"layers": config}
            if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
                raise self.error(f"{where}: the Sequential config has no 'layers' list.")
            layers = [self.layer(layer, f"{where}, layer #{i}") for i, layer in enumerate(config["layers"])]
            out = {"name": config.get("name"), "layers": layers}
            if "trainable" in config:
                out["trainable"] = bool(config["trainable"])
            shape = config.get("build_input_shape")
            if isinstance(shape, list):
                out["build_input_shape"] = shape
            return {"class_name": "Sequential", "config": out}
        if class_name in ("Functional", "Model") and isinstance(config, dict) and "layers" in config:
            return {"class_name": "Functional", "config": self._functional(config, where)}
        raise self.error(
            f"{where} describes a {class_name!r} model: a subclassed Keras model, whose code is not in the file. "
            "lstmkit opens Sequential and functional models; rebuild the model in code and load its weights "
            "with model.load_weights(path)."
        )

    def _functional(self, config: dict, where: str) -> dict:
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise self.error(f"{where}: the functional config has no 'layers' list.")
        out_layers = []
        for index, entry in enumerate(layers):
            if not isinstance(entry, dict):
                raise self.error(f"{where}: layer entry #{index} is not a dict.")
            translated = self.layer(entry, f"{where}, layer #{index}")
            translated["name"] = entry.get("name", translated["config"].get("name"))
            translated["inbound_nodes"] = entry.get("inbound_nodes", [])
            out_layers.append(translated)
        out = {
            "name": config.get("name"),
            "layers": out_layers,
            "input_layers": config.get("input_layers"),
            "output_layers": config.get("output_layers"),
        }
        if "trainable" in config:
            out["trainable"] = bool(config["trainable"])
        return out

    # ------------------------------------------------------------------ layers
    def layer(self, serialized: dict, where: str) -> dict:
        """One serialized Keras layer -> ``{"class_name", "config"}`` for lstmkit's ``deserialize``."""
        if not isinstance(serialized, dict) or not isinstance(serialized.get("class_name"), str):
            raise self.error(f"{where} is not a layer config (no 'class_name').")
        keras_class = serialized["class_name"]
        config = serialized.get("config")
        if not isinstance(config, (dict, list)):
            raise self.error(f"{where} ({keras_class}) has no config dict.")
        name = config.get("name") if isinstance(config, dict) else None
        label = f"layer {name!r} ({keras_class})" if name else f"{where} ({keras_class})"
        if keras_class in MODEL_CLASSES:
            nested = self.model(serialized, label)
            if name:
                self.keras_class_names[name] = keras_class
            return nested
        if keras_class == "Lambda":
            return self._lambda(config, label)
        class_name, extra = CLASS_ALIASES.get(keras_class, (keras_class, {}))
        cls = self.classes.get(class_name)
        if cls is None:
            raise self.error(self._unknown_class(keras_class, label))
        if name:
            self.keras_class_names[name] = keras_class
        config = {**config, **extra}
        custom = class_name in self.custom_objects
        return {"class_name": class_name, "config": self._arguments(cls, class_name, config, label, custom)}

    def _unknown_class(self, keras_class: str, label: str) -> str:
        hint = did_you_mean(keras_class, self.own)
        return (
            f"{label} is of a class that lstmkit does not know: {keras_class!r}.{hint} If it is your own layer "
            f"class, pass it when loading: load_model(path, custom_objects={{{keras_class!r}: {keras_class}}}). "
            "Nothing named in the file is ever imported."
        )

    def _lambda(self, config: dict, label: str) -> dict:
        name = config.get("name")
        function = config.get("function")
        function_name = None
        if isinstance(function, dict) and function.get("class_name") == "function":
            function_name = function.get("config")  # Keras 3: a function stored by its name
        elif config.get("function_type") == "function" and isinstance(function, str):
            function_name = function  # tf.keras 2: likewise
        key = name if name in self.custom_objects else function_name
        supplied = self.custom_objects.get(key) if isinstance(key, str) else None
        lambda_class = self.own.get("Lambda")
        how = (
            (f"Pass the function: custom_objects={{{name!r}: function}}, or r" if lambda_class else "R")
            + f"ewrite it as a layer class and pass that: custom_objects={{{name!r}: MyLayer}} (keyed by the "
            "layer's name); or build the model in code and load the weights: model.load_weights(path)."
        )
        if supplied is None:
            stored = (
                f"the function {function_name!r}"
                if function_name
                else "a Python lambda stored as bytecode, which lstmkit never unmarshals or runs (loading it "
                "could run any code)"
            )
            unsafe = (
                " (safe_mode=False does not change that: lstmkit never runs code from a file)"
                if not self.safe_mode
                else ""
            )
            raise self.error(f"{label} is a Lambda layer holding {stored}{unsafe}. {how}")
        from lstmkit.layers.base import Layer

        if isinstance(supplied, type) and issubclass(supplied, Layer):
            self.keras_class_names[name] = "Lambda"
            self.classes.setdefault(supplied.__name__, supplied)
            return {"class_name": supplied.__name__, "config": {"name": name}}
        if lambda_class is None or not callable(supplied):
            raise self.error(
                f"{label} is a Lambda layer; this lstmkit has no Lambda layer to run the function you passed. {how}"
            )
        self.keras_class_names[name] = "Lambda"
        lambda_config = {"name": name, "function": key, "arguments": config.get("arguments") or {}}
        if isinstance(config.get("output_shape"), list):  # a shape; a function here is code, and not needed:
            lambda_config["output_shape"] = config["output_shape"]  # lstmkit finds shapes by tracing
        return {"class_name": "Lambda", "config": lambda_config}

    # ------------------------------------------------------------------ arguments
    def _arguments(self, cls, class_name: str, config: dict, label: str, custom: bool) -> dict:
        config = dict(config)
        for old, new in KERAS1_NAMES.get(class_name, {}).items():
            if old in config and new not in config:
                config[new] = config.pop(old)
        if "forget_bias_init" in config:  # Keras 1: the forget gate's initial bias ('one' by default)
            initial = config.pop("forget_bias_init")
            if initial not in ("one", "ones", "zero", "zeros"):
                raise self.error(
                    f"{label} sets forget_bias_init={initial!r}; lstmkit knows 'one' and 'zero'."
                )
            config.setdefault("unit_forget_bias", initial in ("one", "ones"))
        if class_name != "Embedding":  # (whose input_dim is the vocabulary size)
            self._declared_shape(config, label)
        if class_name == "GRU" and "reset_after" not in config:
            # GRU's default was reset_after=False until Keras 2.3 (and in Keras 1).
            version = keras_version(self.keras_version)
            config["reset_after"] = version is not None and version >= (2, 3)
        out = {}
        accepted = None if custom else cls._accepted_kwargs()
        for key, value in config.items():
            value = self._value(key, value, label)
            if accepted is None or key in accepted:
                out[key] = value
                continue
            check = NEUTRAL.get(key)
            if check is not None and check(value):
                continue
            if check is not None:
                raise self.error(
                    f"{label} sets {key}={value!r}, which lstmkit's {class_name} does not support (only the "
                    "neutral value is accepted, because dropping it would change the model)."
                )
            hint = did_you_mean(key, sorted(accepted))
            raise self.error(
                f"{label} has the config key {key!r}, which lstmkit's {class_name} does not know.{hint} It may "
                "come from a newer Keras; lstmkit refuses it rather than ignore it."
            )
        return out

    def _declared_shape(self, config: dict, label: str) -> None:
        """Keras 1 configs repeat the input shape as input_dim/input_length beside batch_input_shape; lstmkit
        takes one of them, so the repeats go when they agree."""
        shape = config.get("batch_input_shape")
        if not isinstance(shape, list) or not shape:
            return
        for key, axis in (("input_dim", -1), ("input_length", 1)):
            if key in config:
                value = config.pop(key)
                if value is not None and (len(shape) <= max(axis, 0) or shape[axis] != value):
                    raise self.error(
                        f"{label} sets {key}={value!r}, which disagrees with batch_input_shape={shape}."
                    )

    def _value(self, key: str, value, label: str):
        if key == "dtype":
            return self._dtype(value, label)
        if key in NESTED_LAYER_KEYS and isinstance(value, dict) and "class_name" in value:
            return self.layer(value, f"{label} > {key}")
        if key in NESTED_LAYER_LISTS and isinstance(value, list):
            return [self.layer(v, f"{label} > {key}[{i}]") for i, v in enumerate(value)]
        if key.endswith(INITIALIZER_KEYS) or key == "init" or key == "inner_init":
            return self._object(value, label, key, initializer=True)
        if key.endswith(REGULARIZER_KEYS):
            return self._object(value, label, key)
        if key in ("activation", "recurrent_activation", "inner_activation"):
            if isinstance(value, dict):
                value = value.get("config") if value.get("class_name") == "function" else value
                if isinstance(value, dict):
                    value = value.get("class_name")
            if isinstance(value, str) and value in self.custom_objects:
                return self.custom_objects[value]
        return value

    def _dtype(self, value, label: str):
        if isinstance(value, dict):  # Keras 3 DTypePolicy / Keras 2 Policy
            inner = value.get("config")
            value = inner.get("name") if isinstance(inner, dict) else None
            if not isinstance(value, str):
                raise self.error(f"{label} has a dtype policy without a name.")
        if value is not None and not isinstance(value, str):
            raise self.error(f"{label} has an invalid dtype {value!r}.")
        return value

    def _object(self, value, label: str, key: str, initializer: bool = False):
        """An initializer or regularizer: a name, or a serialized object without Keras's bookkeeping."""
        if isinstance(value, str):
            if value in self.custom_objects:
                return self.custom_objects[value]
            return _KERAS1_INITIALIZERS.get(value, value) if initializer else value
        if not isinstance(value, dict):
            return value
        serialized = _strip_meta(value)
        config = serialized["config"]
        if not isinstance(config, dict):
            config = {}
        config = {k: v for k, v in config.items() if not (k in NEUTRAL and k != "seed" and NEUTRAL[k](v))}
        if serialized["class_name"] in self.custom_objects:
            return self.custom_objects[serialized["class_name"]]
        return {"class_name": serialized["class_name"], "config": config}
