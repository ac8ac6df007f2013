"""Opening Keras's own files: Keras 3 ``.keras``, Keras 2 / tf.keras / Keras 3 legacy ``.h5`` models, and
weights-only ``.h5`` / ``.weights.h5`` files (``pip install 'lstmkit[keras]'`` for h5py).

``lstmkit.models.load_model(path)`` and ``model.load_weights(path)`` come here when the file is Keras's
(told by content, not by name). What is read, and how:

* ``config.py``: Keras configs (Keras 3, tf.keras 2, Keras 2.0-2.2, Keras 1 names) -> lstmkit configs;
  only lstmkit's layers or ``custom_objects`` are built, nothing named in a file is imported, a Lambda's
  bytecode is never unmarshalled, and unknown keys are refused.
* ``weights.py``: where each layer's arrays are (object paths or by layer) and the conversions old files
  need (Keras 1 LSTM/GRU, CuDNNLSTM/CuDNNGRU).
* ``training.py``: compile settings and optimizer state, so that training continues.
* ``h5.py``: HDF5 read defensively (no links out of the file, no external or virtual datasets, no filter
  plugins, no arrays larger than the bytes behind them).

Every failure is a ``ModelFileError`` naming the file and the problem.
"""

from lstmkit.saving.keras.loader import keras_file_kind, load_keras_model, load_keras_weights

__all__ = ["keras_file_kind", "load_keras_model", "load_keras_weights"]
