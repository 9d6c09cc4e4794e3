"""Neural-network building blocks with PyTorch's names: Parameter, Module, layers, containers,
losses, ``functional`` (activations and losses), ``init`` (initialisation) and ``utils``
(gradient clipping)."""
from tinygrad_lr.nn import functional, init, utils
from tinygrad_lr.nn.layers import (ELU, GELU, SELU, BatchNorm1d, CosineSimilarity, Dropout, Flatten,
                                   Hardtanh, Identity, LeakyReLU, Linear, LogSigmoid, LogSoftmax,
                                   Mish, ModuleDict, ModuleList, PairwiseDistance, PReLU, ReLU,
                                   ReLU6, Sequential, Sigmoid, SiLU, Softmax, Softplus, Softsign,
                                   Tanh)
from tinygrad_lr.nn.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss,
                                 L1Loss, MSELoss, NLLLoss, SmoothL1Loss, SoftMarginLoss)
from tinygrad_lr.nn.module import IncompatibleKeys, Module
from tinygrad_lr.nn.parameter import Parameter

__all__ = ["functional", "init", "utils", "Parameter", "Module", "IncompatibleKeys", "Linear",
           "Sequential", "ModuleList", "ModuleDict", "Identity", "Sigmoid", "ReLU", "LeakyReLU",
           "ELU", "GELU", "SiLU", "BatchNorm1d", "Softplus", "Tanh", "Flatten", "Softmax",
           "LogSoftmax", "Dropout", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss",
           "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "Hardtanh", "ReLU6", "SELU",
           "Softsign", "Mish", "LogSigmoid", "PReLU", "CosineSimilarity", "PairwiseDistance",
           "KLDivLoss", "SoftMarginLoss"]
