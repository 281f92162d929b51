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

# Added for torch parity (activations, channel dropout, 1-d conv, norms, layers, losses, distances).
from .activation import (  # noqa: E402
    CELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LogSigmoid,
    Mish,
    PReLU,
    ReLU6,
    Softmax2d,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    Tanhshrink,
    Threshold,
)
from .conv1d import Conv1d, ConvTranspose1d  # noqa: E402
from .distance import CosineSimilarity, PairwiseDistance  # noqa: E402
from .dropout import AlphaDropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout  # noqa: E402
from .layers_extra import (  # noqa: E402
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    Bilinear,
    CircularPad1d,
    CircularPad2d,
    ConstantPad1d,
    Fold,
    ParameterDict,
    ParameterList,
    PixelShuffle,
    PixelUnshuffle,
    ReflectionPad1d,
    ReplicationPad1d,
    Unfold,
    ZeroPad1d,
)
from .losses_extra import (  # noqa: E402
    CosineEmbeddingLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    KLDivLoss,
    MarginRankingLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    PoissonNLLLoss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from .normalization_extra import GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, RMSNorm  # noqa: E402

__all__ += [
    "CELU",
    "GLU",
    "SELU",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AlphaDropout",
    "Bilinear",
    "CircularPad1d",
    "CircularPad2d",
    "ConstantPad1d",
    "Conv1d",
    "ConvTranspose1d",
    "CosineEmbeddingLoss",
    "CosineSimilarity",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "FeatureAlphaDropout",
    "Fold",
    "GaussianNLLLoss",
    "GroupNorm",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "HingeEmbeddingLoss",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "KLDivLoss",
    "LogSigmoid",
    "MarginRankingLoss",
    "Mish",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "PReLU",
    "PairwiseDistance",
    "ParameterDict",
    "ParameterList",
    "PixelShuffle",
    "PixelUnshuffle",
    "PoissonNLLLoss",
    "RMSNorm",
    "ReLU6",
    "ReflectionPad1d",
    "ReplicationPad1d",
    "SoftMarginLoss",
    "Softmax2d",
    "Softmin",
    "Softplus",
    "Softshrink",
    "Softsign",
    "Tanhshrink",
    "Threshold",
    "TripletMarginLoss",
    "Unfold",
    "ZeroPad1d",
]

from .layers_more import (  # noqa: E402
    ChannelShuffle,
    CircularPad3d,
    ConstantPad3d,
    LocalResponseNorm,
    LPPool1d,
    LPPool2d,
    MaxUnpool1d,
    MaxUnpool2d,
    ReflectionPad3d,
    ReplicationPad3d,
    RReLU,
    ZeroPad3d,
)
from .losses_extra import MultiLabelMarginLoss, TripletMarginWithDistanceLoss  # noqa: E402

__all__ += [
    "ChannelShuffle",
    "CircularPad3d",
    "ConstantPad3d",
    "LPPool1d",
    "LPPool2d",
    "LocalResponseNorm",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MultiLabelMarginLoss",
    "RReLU",
    "ReflectionPad3d",
    "ReplicationPad3d",
    "TripletMarginWithDistanceLoss",
    "ZeroPad3d",
]

from .attention import (  # noqa: E402
    MultiheadAttention,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ += [
    "MultiheadAttention",
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]

from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell  # noqa: E402

__all__ += ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell"]

from .embedding_bag import EmbeddingBag  # noqa: E402

__all__ += ["EmbeddingBag"]

from .three_d import AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, Conv3d, MaxPool3d  # noqa: E402

__all__ += ["AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "AvgPool3d", "Conv3d", "MaxPool3d"]

from .interpolate_linear import UpsamplingBilinear2d  # noqa: E402

__all__ += ["UpsamplingBilinear2d"]

from .ctc import CTCLoss  # noqa: E402

__all__ += ["CTCLoss"]

from .layers_more import MaxUnpool3d  # noqa: E402

__all__ += ["MaxUnpool3d"]
