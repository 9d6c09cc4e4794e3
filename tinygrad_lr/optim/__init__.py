"""Optimizers (SGD, RMSprop, Adam, AdamW, Adagrad, LBFGS) and learning-rate schedulers with
PyTorch's names, defaults and update equations; updates run in place on NumPy arrays."""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "LBFGS", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
