"""Optimizers (SGD, RMSprop, Adam, AdamW, Adagrad, LBFGS) and learning-rate schedulers with
PyTorch's names, defaults and update equations; updates run in place on NumPy arrays."""
from tinygrad_lr.optim import lr_scheduler
from tinygrad_lr.optim.adagrad import Adagrad
from tinygrad_lr.optim.adam import Adam, AdamW
from tinygrad_lr.optim.lbfgs import LBFGS
from tinygrad_lr.optim.optimizer import Optimizer
from tinygrad_lr.optim.rmsprop import RMSprop
from tinygrad_lr.optim.sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "LBFGS", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
