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
