"""scikit-learn wrappers at Keras's paths: Keras 3's ``lstmkit.wrappers.SKLearnRegressor`` /
``SKLearnClassifier``, and Keras 2's ``lstmkit.wrappers.scikit_learn.KerasRegressor`` / ``KerasClassifier``.

Needs scikit-learn: ``pip install 'lstmkit[sklearn]'``.
"""

from lstmkit.wrappers import scikit_learn
from lstmkit.wrappers.sklearn_wrapper import SKLearnClassifier, SKLearnRegressor

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "scikit_learn"]
