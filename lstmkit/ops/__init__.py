"""``lstmkit.ops``: Keras 3's ``keras.ops`` on torch — the math custom layers, losses and metrics are written with.

``from lstmkit import ops`` (or ``from keras import ops`` through ``lstmkit run``): ``ops.mean(x, axis=1)``,
``ops.matmul(a, b)``, ``ops.softmax(x)``, ... on the tensors a layer's ``call`` or a loss receives. On symbolic
tensors (``keras.Input``) an op becomes a node of the graph model, as in Keras 3. A name that is not here
raises an error naming the closest ops that are.
"""

from lstmkit.ops import arrays as _arrays
from lstmkit.ops import math as _math
from lstmkit.ops import nn as _nn
from lstmkit.ops.arrays import *
from lstmkit.ops.core import OpLayer, registered_ops
from lstmkit.ops.math import *
from lstmkit.ops.nn import *
from lstmkit.utils.naming import closest

__all__ = ["OpLayer", "registered_ops"]
__all__ += _math.__all__ + [n for n in _arrays.__all__ + _nn.__all__ if n not in _math.__all__]


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    hits = closest(name, __all__)
    hint = f" Did you mean {' or '.join(f'ops.{h}' for h in hits)}?" if hits else ""
    raise AttributeError(
        f"lstmkit.ops has no op {name!r}.{hint} lstmkit provides the keras.ops functions custom layers and losses "
        "use; for anything else write it with torch inside a custom layer's call()."
    )
