"""Attention: F.scaled_dot_product_attention, nn.MultiheadAttention (torch's parameter layout, masks,
batch_first, averaged weights) and nn.TransformerEncoderLayer / nn.TransformerEncoder, as composites of
matmul, softmax and dropout."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..creation import empty, zeros
from ..dtypes import DType, bool_
from ..ops_index import cat, where
from ..tensor import Tensor
from . import init
from .containers import ModuleList
from .functional import dropout, gelu, linear, relu, softmax
from .layers import Dropout, Linear
from .module import Module, Parameter, factory_dtype
from .normalization import LayerNorm
from .pool_functions import pad


class NonDynamicallyQuantizableLinear(Linear):
    """torch's name for MultiheadAttention's output projection (a plain Linear), kept for its repr."""


def _additive(mask: Tensor, like: Tensor, allow_true: bool) -> Tensor:
    """A boolean mask as 0 / -inf in like's dtype (``allow_true``: True marks the allowed places, SDPA's
    convention; else True marks the masked ones, MultiheadAttention's); a float mask as it is."""
    if mask.dtype is bool_:
        blocked = ~mask if allow_true else mask
        return where(blocked, -math.inf, 0.0).to(like.dtype)
    return mask.to(like.dtype)


def _causal(n_q: int, n_k: int, like: Tensor) -> Tensor:
    """0 on and below the diagonal, -inf above, as an (L, S) float mask on like's device."""
    upper = np.triu(np.ones((n_q, n_k), dtype=bool), k=1)
    return Tensor(np.where(upper, -np.inf, 0.0).astype(like.dtype.np), device=like.device)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q K^T * scale + mask) V over (..., L, E) queries and (..., S, E) keys, as torch's reference
    form: a boolean ``attn_mask`` marks the places that take part, a float one is added; ``is_causal``
    masks the upper triangle; ``enable_gqa`` repeats key/value heads to the query heads.

    Example:
        >>> import gradcore as gc
        >>> from gradcore.nn import functional as F
        >>> q = gc.randn(2, 4, 5, 8)
        >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        (2, 4, 5, 8)
    """
    n_q, n_k = query.shape[-2], key.shape[-2]
    scale_factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key = (
            key.unsqueeze(-3)
            .expand(*key.shape[:-2], rep, *key.shape[-2:])
            .reshape(*query.shape[:-2], *key.shape[-2:])
        )
        value = (
            value.unsqueeze(-3)
            .expand(*value.shape[:-2], rep, *value.shape[-2:])
            .reshape(*query.shape[:-2], *value.shape[-2:])
        )
    scores = (query @ key.transpose(-2, -1)) * scale_factor
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal, not both")
        scores = scores + _causal(n_q, n_k, query)
    if attn_mask is not None:
        scores = scores + _additive(attn_mask, query, allow_true=True)
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return weights @ value


class MultiheadAttention(Module):
    """Multi-head attention as ``torch.nn.MultiheadAttention``: same parameters (``in_proj_weight`` (3E, E)
    or separate q/k/v projections when kdim/vdim differ, ``in_proj_bias``, ``out_proj``), same masks
    (``key_padding_mask`` and boolean ``attn_mask``: True = not allowed; float masks added), ``batch_first``,
    ``need_weights`` / ``average_attn_weights``; forward returns (output, weights or None).

    Example:
        >>> import gradcore as gc
        >>> mha = gc.nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = gc.randn(2, 5, 16)
        >>> out, w = mha(x, x, x)
        >>> out.shape, w.shape
        ((2, 5, 16), (2, 5, 5))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                f"num_heads={num_heads} instead"
            )
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        dt = factory_dtype(dtype, "MultiheadAttention")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = (
            embed_dim,
            num_heads,
            dropout,
            batch_first,
        )
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty((3 * embed_dim, embed_dim), dtype=dt))
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.q_proj_weight = Parameter(empty((embed_dim, embed_dim), dtype=dt))
            self.k_proj_weight = Parameter(empty((embed_dim, self.kdim), dtype=dt))
            self.v_proj_weight = Parameter(empty((embed_dim, self.vdim), dtype=dt))
            self.in_proj_weight = None
        self.in_proj_bias = Parameter(empty((3 * embed_dim,), dtype=dt)) if bias else None
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dt)
        if add_bias_kv:
            self.bias_k = Parameter(empty((1, 1, embed_dim), dtype=dt))
            self.bias_v = Parameter(empty((1, 1, embed_dim), dtype=dt))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()
        if device is not None:
            self.to(device)

    def _reset_parameters(self) -> None:
        """torch's: xavier_uniform projections, zero biases, xavier_normal bias_k / bias_v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                init.xavier_normal_(b)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:e], w[e : 2 * e], w[2 * e :]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
                "`generate_square_subsequent_mask` to create this mask."
            )
        unbatched = query.ndim == 2
        if unbatched:  # (L, E): one sequence
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:  # (N, L, E) -> (L, N, E), the layout of torch's computation
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        n_q, n, e = query.shape
        h, hd = self.num_heads, self.head_dim
        if e != self.embed_dim:
            raise ValueError(f"was expecting embedding dimension of {self.embed_dim}, but got {e}")
        q, k, v = self._project(query, key, value)
        mask = None if attn_mask is None else _additive(attn_mask, q, allow_true=False)
        if mask is not None and mask.ndim == 2:
            if tuple(mask.shape) != (n_q, key.shape[0]):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {tuple(mask.shape)}, but should be "
                    f"{(n_q, key.shape[0])}."
                )
            mask = mask.unsqueeze(0)
        if self.bias_k is not None:
            k = _cat0(k, self.bias_k.expand(1, n, e))
            v = _cat0(v, self.bias_v.expand(1, n, e))
            mask = None if mask is None else _pad_last(mask)
            key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
        # (L, N, E) -> (N * H, L, hd)
        q = q.reshape(n_q, n * h, hd).transpose(0, 1)
        k = k.reshape(k.shape[0], n * h, hd).transpose(0, 1)
        v = v.reshape(v.shape[0], n * h, hd).transpose(0, 1)
        if self.add_zero_attn:
            k = _cat1(k, k.new_zeros((n * h, 1, hd)))
            v = _cat1(v, v.new_zeros((n * h, 1, hd)))
            mask = None if mask is None else _pad_last(mask)
            key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
        s = k.shape[1]
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (n, s):
                raise RuntimeError(
                    f"expecting key_padding_mask shape of {(n, s)}, but got {tuple(key_padding_mask.shape)}"
                )
            pad = _additive(key_padding_mask, q, allow_true=False).reshape(n, 1, 1, s)
            pad = pad.expand(n, h, 1, s).reshape(n * h, 1, s)
            mask = pad if mask is None else mask + pad
        p = self.dropout if self.training else 0.0
        scores = (q * math.sqrt(1.0 / hd)) @ k.transpose(-2, -1)
        if mask is not None:
            scores = scores + mask
        weights = softmax(scores, -1)
        if p > 0.0:
            weights = dropout(weights, p, True)
        out = (weights @ v).transpose(0, 1).reshape(n_q * n, e)
        out = self.out_proj(out).reshape(n_q, n, e)
        if unbatched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        w = weights.reshape(n, h, n_q, s)
        if average_attn_weights:
            w = w.mean(dim=1)
        return out, (w.squeeze(0) if unbatched else w)


def _cat0(a: Tensor, b: Tensor) -> Tensor:
    return cat([a, b], 0)


def _cat1(a: Tensor, b: Tensor) -> Tensor:
    return cat([a, b], 1)


def _pad_last(mask: Tensor) -> Tensor:
    """One more (allowed) column at the end of a mask's last dim: False for a boolean mask, 0 for a float."""
    if mask.dtype is bool_:
        return cat([mask, zeros(tuple(mask.shape[:-1]) + (1,), dtype=bool_, device=mask.device)], -1)
    return pad(mask, (0, 1))


_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"relu": relu, "gelu": gelu}


def _activation_fn(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """A transformer layer's activation: a name (relu/gelu) looked up, a callable kept as given."""
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise RuntimeError(f"activation should be relu/gelu, not {activation}")
        return _ACTIVATIONS[activation]
    return activation


def _build_layer(
    layer: Module,
    attentions: tuple[str, ...],
    d_model: int,
    nhead: int,
    dim_feedforward: int,
    dropout: float,
    activation: str | Callable[[Tensor], Tensor],
    layer_norm_eps: float,
    batch_first: bool,
    norm_first: bool,
    bias: bool,
    device: str | None,
    dtype: DType | str | None,
) -> None:
    """The submodules of a transformer encoder (one attention) or decoder (two) layer, registered in
    torch's order (attentions, linear1, dropout, linear2, norm1.., dropout1..) so state_dict keys and the
    repr match: one norm and one dropout per residual branch (attentions + the feed-forward net)."""
    for name in attentions:
        setattr(
            layer,
            name,
            MultiheadAttention(
                d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
            ),
        )
    layer.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
    layer.dropout = Dropout(dropout)
    layer.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
    layer.norm_first = norm_first
    branches = len(attentions) + 1
    for i in range(1, branches + 1):
        setattr(layer, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
    for i in range(1, branches + 1):
        setattr(layer, f"dropout{i}", Dropout(dropout))
    layer.activation = _activation_fn(activation)
    if device is not None:
        layer.to(device)


def _attend(
    attn: MultiheadAttention, x: Tensor, mem: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool
) -> Tensor:
    """The attention output alone (no weights) of x over mem: the body of the layers' _sa/_mha blocks."""
    return attn(
        x,
        mem,
        mem,
        attn_mask=attn_mask,
        key_padding_mask=key_padding_mask,
        need_weights=False,
        is_causal=is_causal,
    )[0]


class TransformerEncoderLayer(Module):
    """One encoder block as ``torch.nn.TransformerEncoderLayer``: self-attention then a feed-forward net,
    each with dropout, a residual and LayerNorm (after, or before with ``norm_first``).

    Example:
        >>> import gradcore as gc
        >>> layer = gc.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True)
        >>> layer(gc.randn(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        _build_layer(
            self,
            ("self_attn",),
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            device,
            dtype,
        )

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        return self.dropout1(_attend(self.self_attn, x, x, attn_mask, key_padding_mask, is_causal))

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (deep copies, as torch), then ``norm``.

    Example:
        >>> import gradcore as gc
        >>> layer = gc.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)
        >>> enc = gc.nn.TransformerEncoder(layer, num_layers=2)
        >>> enc(gc.randn(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        out = src
        for layer in self.layers:
            out = layer(
                out, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal)
            )
        return self.norm(out) if self.norm is not None else out


class TransformerDecoderLayer(Module):
    """One decoder block as ``torch.nn.TransformerDecoderLayer``: masked self-attention, attention over
    the encoder's ``memory``, then a feed-forward net; each with dropout, a residual and LayerNorm.

    Example:
        >>> import gradcore as gc
        >>> layer = gc.nn.TransformerDecoderLayer(16, 4, 32, batch_first=True)
        >>> layer(gc.randn(2, 3, 16), gc.randn(2, 5, 16)).shape
        (2, 3, 16)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        _build_layer(
            self,
            ("self_attn", "multihead_attn"),
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            device,
            dtype,
        )

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        return self.dropout1(_attend(self.self_attn, x, x, attn_mask, key_padding_mask, is_causal))

    def _mha_block(
        self, x: Tensor, mem: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool
    ) -> Tensor:
        return self.dropout2(_attend(self.multihead_attn, x, mem, attn_mask, key_padding_mask, is_causal))

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x))


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer``, then ``norm``."""

    def __init__(
        self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None
    ) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        out = tgt
        for layer in self.layers:
            out = layer(
                out,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=bool(tgt_is_causal),
                memory_is_causal=memory_is_causal,
            )
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    """The encoder-decoder Transformer as ``torch.nn.Transformer`` (final LayerNorms on both stacks,
    xavier_uniform init of every matrix).

    Example:
        >>> import gradcore as gc
        >>> model = gc.nn.Transformer(16, 4, 2, 2, 32, batch_first=True)
        >>> tgt_mask = gc.nn.Transformer.generate_square_subsequent_mask(3)
        >>> model(gc.randn(2, 5, 16), gc.randn(2, 3, 16), tgt_mask=tgt_mask).shape
        (2, 3, 16)
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = "relu",
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        common = dict(
            dropout=dropout,
            activation=activation,
            layer_norm_eps=layer_norm_eps,
            batch_first=batch_first,
            norm_first=norm_first,
            bias=bias,
            dtype=dtype,
        )
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, **common)
            self.encoder = TransformerEncoder(
                layer, num_encoder_layers, LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            )
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, **common)
            self.decoder = TransformerDecoder(
                layer, num_decoder_layers, LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            )
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        if device is not None:
            self.to(device)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(
        sz: int, device: str | None = None, dtype: DType | None = None
    ) -> Tensor:
        """The (sz, sz) causal mask: 0 on and below the diagonal, -inf above."""
        return generate_square_subsequent_mask(sz, device, dtype)


def generate_square_subsequent_mask(sz: int, device: str | None = None, dtype: DType | None = None) -> Tensor:
    """The (sz, sz) causal float mask: 0 on and below the diagonal, -inf above (``nn.Transformer``'s)."""
    upper = np.triu(np.ones((sz, sz), dtype=bool), k=1)
    return Tensor(np.where(upper, -np.inf, 0.0).astype(np.float32), device=device or "cpu", dtype=dtype)


__all__ = [
    "MultiheadAttention",
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "generate_square_subsequent_mask",
    "scaled_dot_product_attention",
]
