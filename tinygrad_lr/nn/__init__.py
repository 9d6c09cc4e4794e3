"""Neural-network building blocks with PyTorch's names: Parameter, Module, layers, containers,
losses, ``functional`` (activations and losses), ``init`` (initialisation) and ``utils``
(gradient clipping)."""
from . import functional, init, utils
from .layers import (ELU, GELU, BatchNorm1d, Dropout, Flatten, Identity, LeakyReLU, Linear,
                     LogSoftmax, ModuleDict, ModuleList, ReLU, Sequential, Sigmoid, SiLU, Softmax,
                     Softplus, Tanh)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss,
                   NLLLoss, SmoothL1Loss)
from .module import IncompatibleKeys, Module
from .parameter import Parameter

__all__ = ["functional", "init", "utils", "Parameter", "Module", "IncompatibleKeys", "Linear",
           "Sequential", "ModuleList", "ModuleDict", "Identity", "Sigmoid", "ReLU", "LeakyReLU",
           "ELU", "GELU", "SiLU", "BatchNorm1d", "Softplus", "Tanh", "Flatten", "Softmax", "LogSoftmax", "Dropout",
           "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
           "CrossEntropyLoss", "NLLLoss"]
