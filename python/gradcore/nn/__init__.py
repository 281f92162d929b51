"""gradcore.nn: modules, layers, losses and the functional API."""

from . import functional
from .layers import Dropout, Flatten, Identity, Linear, ReLU, Sequential, Sigmoid, Tanh
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module, Parameter

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Identity",
    "Linear",
    "MSELoss",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
]
