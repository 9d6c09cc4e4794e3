"""Neural-network building blocks with PyTorch's names: Parameter, Module, layers, losses,
``functional`` (activations and losses) and ``utils`` (gradient clipping)."""
from . import functional, utils
from .layers import Flatten, Identity, Linear, LogSoftmax, ReLU, Sequential, Sigmoid, Softmax, Tanh
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module
from .parameter import Parameter

__all__ = ["functional", "utils", "Parameter", "Module", "IncompatibleKeys", "Linear",
           "Sequential", "Identity", "Sigmoid", "ReLU", "Tanh", "Flatten", "Softmax",
           "LogSoftmax", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss", "CrossEntropyLoss",
           "NLLLoss"]
