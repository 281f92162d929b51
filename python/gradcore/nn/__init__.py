"""gradcore.nn: modules, layers, losses and the functional API."""

from . import functional, init, parallel, utils
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, SiLU, Softmax
from .containers import ModuleDict, ModuleList
from .conv import Conv2d, ConvTranspose2d
from .embedding import Embedding
from .layers import Dropout, Flatten, Identity, Linear, ReLU, Sequential, Sigmoid, Tanh
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    ConstantPad2d,
    MaxPool1d,
    MaxPool2d,
    ReflectionPad2d,
    ReplicationPad2d,
    Unflatten,
    Upsample,
    UpsamplingNearest2d,
    ZeroPad2d,
)

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "Conv2d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GELU",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "Tanh",
    "functional",
    "init",
    "parallel",
    "utils",
]
__all__ += [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "BatchNorm2d",
    "ConstantPad2d",
    "MaxPool1d",
    "MaxPool2d",
    "ReflectionPad2d",
    "ReplicationPad2d",
    "Unflatten",
    "Upsample",
    "UpsamplingNearest2d",
    "ZeroPad2d",
]
