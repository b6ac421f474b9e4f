"""Small building blocks shared by the boxes: dropout, Xavier-initialized layers, PyTorch's init.

(Masks and decoder lengths live in :mod:`tacolib.masks`.)

Every convolution and linear weight of the model is drawn with Xavier-uniform
(Glorot & Bengio 2010), scaled by the gain of the nonlinearity that follows it
(``nn.init.calculate_gain``): ReLU layers get sqrt(2), tanh layers 5/3, linear and
sigmoid outputs 1. The gain keeps the variance of activations roughly constant from
layer to layer at the start of training. Biases start at zero. The LSTMs keep
PyTorch's default uniform(-1/sqrt(H), 1/sqrt(H)), which is scaled to their hidden size
and is what public Tacotron 2 implementations train with.

``cfg.model.init = "default"`` re-draws every weight the way PyTorch's own layers do
(:func:`pytorch_default_init_`), the init the seed's advice replaces; notebook 08 and
``benchmarks/align.py --lessons`` measure the difference.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

#: Values of ``cfg.model.init``.
INITS = ("xavier", "default")


def dropout(x: torch.Tensor, p: float, active: bool = True) -> torch.Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    Same distribution as ``F.dropout``; drawn with ``rand_like`` because ``bernoulli_``
    (which ``F.dropout`` uses) is several times slower on CPU.
    """
    if not active or p == 0.0:
        return x
    keep = 1.0 - p
    return x * torch.rand_like(x).ge_(p).to(x.dtype).mul_(1.0 / keep)


class _SigmoidTanh(torch.autograd.Function):
    """``tanh`` as ``2 sigmoid(2 x) - 1``; backward ``g (1 - y^2)`` from the saved output."""

    @staticmethod
    def forward(ctx, x):
        y = (x * 2.0).sigmoid_().mul_(2.0).sub_(1.0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(g, y)


def fast_tanh(x: torch.Tensor) -> torch.Tensor:
    """``torch.tanh(x)`` computed as ``2 sigmoid(2 x) - 1``, differentiable (the fast paths use it).

    The same function to float32 rounding (absolute difference < 4e-7; exact math, so
    float64 agrees to ~1e-16), ~3x faster than ``torch.tanh`` on CPU, whose kernel is
    precise to 1 ulp and slow.
    """
    return _SigmoidTanh.apply(x)


def dropout_channels_first(x: torch.Tensor, p: float, active: bool = True, frames: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`dropout` of a time-major ``x`` ``(B, T, C)`` with the mask drawn in ``(B, C, T)`` order.

    The random numbers land on the same elements as ``dropout(x.transpose(1, 2))``
    (what the readable convolution stacks draw), so the time-major fast paths keep
    the readable paths' numbers. ``frames`` ``(B, T, 1)`` of 0 and 1 (or None) is
    multiplied in by the same product: ``x * (keep * frames)``, exactly
    ``(x * keep) * frames``, one product less forward and backward.
    """
    if not active or p == 0.0:
        return x if frames is None else x * frames
    B, T, C = x.shape
    keep = torch.rand(B, C, T, dtype=x.dtype, device=x.device).ge_(p).to(x.dtype).mul_(1.0 / (1.0 - p))  # (B, C, T)
    keep = keep.transpose(1, 2).contiguous()  # (B, T, C); a product with a transposed view is ~5x slower on CPU
    return x * (keep if frames is None else keep.mul_(frames))


def conv_norm_time_major(x: torch.Tensor, conv: nn.Conv1d, norm: nn.BatchNorm1d) -> torch.Tensor:
    """``norm(conv(x.transpose(1, 2))).transpose(1, 2)`` without leaving the time-major layout.

    ``x`` ``(B, T, C_in)`` -> ``(B, T, C_out)``. The convolution runs as a 2-D one on
    a ``(B, C_in, 1, T)`` channels-last view (oneDNN's forward is ~2x faster there
    than on ``(B, C_in, T)``), and BatchNorm sees the ``(B * T, C_out)`` rows: the same
    statistics, running averages and ``num_batches_tracked`` as the readable layout.
    """
    if conv.padding_mode != "zeros" or conv.stride != (1,) or conv.dilation != (1,) or conv.groups != 1:
        raise ValueError("conv_norm_time_major: needs a stride-1, undilated, ungrouped, zero-padded nn.Conv1d")
    B, T, _ = x.shape
    x4 = x.unsqueeze(1).permute(0, 3, 1, 2)  # (B, C_in, 1, T), channels-last strides
    y = F.conv2d(x4, conv.weight.unsqueeze(2), conv.bias, padding=(0, conv.padding[0]))  # (B, C_out, 1, T)
    y = y.permute(0, 2, 3, 1).reshape(B * T, -1)  # (B * T, C_out), a view when channels-last
    return norm(y).view(B, T, -1)


def xavier_(weight: torch.Tensor, nonlinearity: str = "linear") -> torch.Tensor:
    """Xavier-uniform init in place with the gain of ``nonlinearity``; returns ``weight``."""
    return nn.init.xavier_uniform_(weight, gain=nn.init.calculate_gain(nonlinearity))


def linear(in_dim: int, out_dim: int, bias: bool = True, nonlinearity: str = "linear") -> nn.Linear:
    """``nn.Linear`` with Xavier-uniform weights for the following ``nonlinearity`` and zero bias."""
    layer = nn.Linear(in_dim, out_dim, bias=bias)
    xavier_(layer.weight, nonlinearity)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


def conv1d(in_channels: int, out_channels: int, kernel_size: int, bias: bool = True, nonlinearity: str = "linear") -> nn.Conv1d:
    """'Same'-padded ``nn.Conv1d`` (odd ``kernel_size``) with Xavier-uniform weights and zero bias."""
    if kernel_size % 2 != 1:
        raise ValueError(f"conv1d: kernel_size must be odd for 'same' padding, got {kernel_size}")
    layer = nn.Conv1d(in_channels, out_channels, kernel_size, padding=(kernel_size - 1) // 2, bias=bias)
    xavier_(layer.weight, nonlinearity)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


def pytorch_default_init_(module: nn.Module) -> nn.Module:
    """Re-draw every linear, convolution and embedding weight of ``module`` as PyTorch does by default.

    ``reset_parameters()`` of each ``nn.Linear`` / ``nn.Conv1d`` (Kaiming-uniform with
    ``a = sqrt(5)``, i.e. uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), and a uniform bias)
    and ``nn.Embedding`` (standard normal, the padding row zero). LSTMs and BatchNorm
    start the same either way. Returns ``module``.
    """
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Embedding)):
            m.reset_parameters()
    return module
