"""Recurrent layers as torch's: RNN (tanh / relu), LSTM and GRU (num_layers, bidirectional, batch_first,
dropout between layers) and their cells, with torch's parameter names, gate order and init. The input
projection runs once for the whole sequence; the recurrence loops over time steps in Tensor ops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..creation import empty, zeros
from ..dtypes import DType
from ..ops_index import cat, stack, where
from ..tensor import Tensor
from . import init
from .functional import dropout, linear
from .module import Module, Parameter, factory_dtype

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _cell(mode: str, gi: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor, b_hh: Tensor | None,
          w_hr: Tensor | None = None):
    """One time step from the input part ``gi`` (x W_ih^T + b_ih); returns (h', c'). An LSTM with
    proj_size projects h' by W_hr (torch's h_t = W_hr (o * tanh(c_t)))."""
    gh = linear(h, w_hh, b_hh)
    if mode == "LSTM":
        i, f, g, o = (gi + gh).chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        return (h if w_hr is None else linear(h, w_hr)), c
    if mode == "GRU":
        ir, iz, in_ = gi.chunk(3, -1)
        hr, hz, hn = gh.chunk(3, -1)
        r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
        n = (in_ + r * hn).tanh()
        return (1.0 - z) * n + z * h, None
    pre = gi + gh
    return (pre.tanh() if mode == "RNN_TANH" else pre.relu()), None


class RNNBase(Module):
    """What RNN, LSTM and GRU share: torch's parameters weight_ih_l{k}[_reverse], weight_hh_l{k}[_reverse],
    bias_ih_l{k}[_reverse], bias_hh_l{k}[_reverse] (and an LSTM with proj_size P > 0: weight_hr_l{k}[_reverse]
    of shape (P, H), h of size P), all initialised U(-1/sqrt(H), 1/sqrt(H))."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an element being "
                "zeroed"
            )
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError(
                f"{name}: hidden_size and num_layers must be positive, got {hidden_size}, {num_layers}"
            )
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        dt = factory_dtype(dtype, name)
        self.mode, self.input_size, self.hidden_size, self.num_layers = (
            mode,
            input_size,
            hidden_size,
            num_layers,
        )
        self.bias, self.batch_first, self.dropout, self.bidirectional = (
            bias,
            batch_first,
            float(dropout),
            bidirectional,
        )
        self.proj_size = proj_size
        gates = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        real_h = proj_size or hidden_size  # the size of h (the recurrent and next-layer input)
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            for d in range(dirs):
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                in_size = input_size if layer == 0 else real_h * dirs
                shapes = [("weight_ih", (gates, in_size)), ("weight_hh", (gates, real_h))]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for pname, shape in shapes:
                    setattr(self, pname + suffix, Parameter(empty(shape, dtype=dt)))
                    self._flat_weights_names.append(pname + suffix)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    @property
    def all_weights(self) -> list[list[Parameter]]:
        per = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i : i + per]] for i in range(0, len(names), per)]

    def _layer_params(self, layer: int, d: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        suffix = f"_l{layer}" + ("_reverse" if d else "")
        b_ih = getattr(self, "bias_ih" + suffix) if self.bias else None
        b_hh = getattr(self, "bias_hh" + suffix) if self.bias else None
        return getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix), b_ih, b_hh

    def _proj_weight(self, layer: int, d: int) -> Tensor | None:
        if not self.proj_size:
            return None
        return getattr(self, f"weight_hr_l{layer}" + ("_reverse" if d else ""))

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Any]:
        from .rnn_utils import PackedSequence, pack_padded_sequence, pad_packed_sequence

        name = type(self).__name__
        is_lstm = self.mode == "LSTM"
        packed = input if isinstance(input, PackedSequence) else None
        lens = None
        if packed is not None:  # run on the padded batch, each sequence only up to its length
            input, lengths = pad_packed_sequence(packed)
            lens = lengths.numpy()
            if self.batch_first:
                input = input.transpose(0, 1)
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D instead")
        unbatched = input.ndim == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        steps, n, feat = x.shape
        if feat != self.input_size:
            raise ValueError(
                f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got {feat}"
            )
        dirs = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * dirs, n, self.proj_size or self.hidden_size)
        cell_shape = (self.num_layers * dirs, n, self.hidden_size)
        if hx is None:
            h0 = zeros(state_shape, dtype=x.dtype, device=x.device)
            c0 = zeros(cell_shape, dtype=x.dtype, device=x.device) if is_lstm else None
        else:
            h0, c0 = hx if is_lstm else (hx, None)
            if unbatched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
            for t, want in ((h0, state_shape), (c0, cell_shape)):
                if t is not None and tuple(t.shape) != want:
                    raise RuntimeError(f"{name}: Expected hidden size {want}, got {tuple(t.shape)}")
        h_n, c_n = [], []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh = self._layer_params(layer, d)
                w_hr = self._proj_weight(layer, d)
                src = layer_in if lens is None or not d else _reverse_within(layer_in, lens)
                gi_all = linear(src, w_ih, b_ih)  # (L, N, G*H): the input part of every step at once
                k = layer * dirs + d
                h = h0[k]
                c = c0[k] if is_lstm else None
                seq = []
                order = range(steps - 1, -1, -1) if d and lens is None else range(steps)
                for t in order:
                    h_new, c_new = _cell(self.mode, gi_all[t], h, c, w_hh, b_hh, w_hr)
                    if lens is None:
                        h, c = h_new, c_new
                    else:  # past its length a sequence keeps its state
                        valid = Tensor((t < lens).reshape(-1, 1), device=h.device)
                        h = where(valid, h_new, h)
                        c = where(valid, c_new, c) if is_lstm else None
                    seq.append(h)
                if d and lens is None:
                    seq.reverse()
                out_d = stack(seq, 0)
                outs.append(_reverse_within(out_d, lens) if d and lens is not None else out_d)
                h_n.append(h)
                if is_lstm:
                    c_n.append(c)
            layer_in = outs[0] if dirs == 1 else _cat_last(outs)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = dropout(layer_in, self.dropout, True)
        out = layer_in
        hn = stack(h_n, 0)
        cn = stack(c_n, 0) if is_lstm else None
        if packed is not None:
            out = pack_padded_sequence(out, lens, enforce_sorted=packed.sorted_indices is None)
        elif unbatched:
            out, hn = out.squeeze(1), hn.squeeze(1)
            cn = cn.squeeze(1) if cn is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, ((hn, cn) if is_lstm else hn)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


def _reverse_within(x: Tensor, lens: np.ndarray) -> Tensor:
    """x (L, N, F) with each sequence's first lens[n] steps reversed (the padding stays in place)."""
    steps, n = x.shape[:2]
    t = np.arange(steps)[:, None]
    src = np.where(t < lens[None, :], lens[None, :] - 1 - t, t)  # (L, N) source step
    flat = (src * n + np.arange(n)[None, :]).reshape(-1).astype(np.int64)
    rows = x.reshape(steps * n, *x.shape[2:]).index_select(0, Tensor(flat, device=x.device))
    return rows.reshape(x.shape)


def _cat_last(parts: list[Tensor]) -> Tensor:
    return cat(parts, -1)


class RNN(RNNBase):
    """Elman RNN, h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu), as ``torch.nn.RNN``.

    Example:
        >>> import gradcore as gc
        >>> rnn = gc.nn.RNN(4, 8, num_layers=2, batch_first=True)
        >>> out, h = rnn(gc.randn(3, 5, 4))
        >>> out.shape, h.shape
        ((3, 5, 8), (2, 3, 8))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory, gates (i, f, g, o) in torch's order; forward returns
    (output, (h_n, c_n)). With ``proj_size=P`` (0 < P < hidden_size) h is projected by weight_hr_l{k}
    to size P (output and h_n of size P, c_n of size hidden_size), as torch.

    Example:
        >>> import gradcore as gc
        >>> lstm = gc.nn.LSTM(4, 8, bidirectional=True)
        >>> out, (h, c) = lstm(gc.randn(5, 3, 4))
        >>> out.shape, h.shape, c.shape
        ((5, 3, 16), (2, 3, 8), (2, 3, 8))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit, gates (r, z, n) in torch's order.

    Example:
        >>> import gradcore as gc
        >>> gru = gc.nn.GRU(4, 8)
        >>> out, h = gru(gc.randn(5, 4))
        >>> out.shape, h.shape
        ((5, 8), (1, 8))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )


class _CellBase(Module):
    mode = "RNN_TANH"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__()
        dt = factory_dtype(dtype, type(self).__name__)
        gates = _GATES[self.mode] * hidden_size
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(empty((gates, input_size), dtype=dt))
        self.weight_hh = Parameter(empty((gates, hidden_size), dtype=dt))
        self.bias_ih = Parameter(empty((gates,), dtype=dt)) if bias else None
        self.bias_hh = Parameter(empty((gates,), dtype=dt)) if bias else None
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def _step(self, input: Tensor, hx: Any) -> Any:
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        n = x.shape[0]
        is_lstm = self.mode == "LSTM"
        if hx is None:
            h = zeros((n, self.hidden_size), dtype=x.dtype, device=x.device)
            c = h if is_lstm else None
        else:
            h, c = hx if is_lstm else (hx, None)
            if unbatched:
                h = h.unsqueeze(0)
                c = c.unsqueeze(0) if c is not None else None
        h, c = _cell(self.mode, linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh, self.bias_hh)
        if unbatched:
            h = h.squeeze(0)
            c = c.squeeze(0) if c is not None else None
        return (h, c) if is_lstm else h

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity=relu"
        return s


class RNNCell(_CellBase):
    """One Elman RNN step. Example: ``h = gc.nn.RNNCell(4, 8)(x, h)``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: str | None = None,
        dtype: DType | str | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, device, dtype)  # one gate either way
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)


class LSTMCell(_CellBase):
    """One LSTM step: ``h, c = gc.nn.LSTMCell(4, 8)(x, (h, c))``."""

    mode = "LSTM"

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        return self._step(input, hx)


class GRUCell(_CellBase):
    """One GRU step: ``h = gc.nn.GRUCell(4, 8)(x, h)``."""

    mode = "GRU"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)


__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell"]
