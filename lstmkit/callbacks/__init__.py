"""Callbacks at Keras's path: ``from lstmkit.callbacks import EarlyStopping, ModelCheckpoint``."""

from lstmkit.callbacks.backup_and_restore import BackupAndRestore
from lstmkit.callbacks.base import Callback, CallbackList
from lstmkit.callbacks.csv_logger import CSVLogger
from lstmkit.callbacks.early_stopping import EarlyStopping
from lstmkit.callbacks.history import History
from lstmkit.callbacks.lambda_callback import LambdaCallback
from lstmkit.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from lstmkit.callbacks.model_checkpoint import ModelCheckpoint
from lstmkit.callbacks.monitor import MonitorCallback
from lstmkit.callbacks.progbar_logger import ProgbarLogger
from lstmkit.callbacks.tensorboard import TensorBoard
from lstmkit.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]
