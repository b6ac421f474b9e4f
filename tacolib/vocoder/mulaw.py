"""μ-law companding: 16-bit audio as 256 classes a softmax can predict.

Speech is mostly quiet: most samples are small, and the ear hears *relative*
changes in loudness. The μ-law curve (ITU-T G.711) ``f(x) = sign(x) ln(1 + μ|x|) /
ln(1 + μ)`` stretches small amplitudes and squeezes large ones before quantizing
``[-1, 1]`` into ``μ + 1 = 256`` evenly spaced levels, so quiet sounds keep their
resolution. WaveNet (van den Oord et al. 2016) predicts one of these 256 classes per
sample with a softmax.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["mu_law_encode", "mu_law_decode"]


def mu_law_encode(x, mu: int = 255):
    """Waveform in ``[-1, 1]`` -> integer classes in ``[0, mu]``.

    Parameters
    ----------
    x : Tensor or ndarray
        Any shape, float; values outside ``[-1, 1]`` are clipped.
    mu : int
        Companding parameter; there are ``mu + 1`` classes (255 -> 256, 8 bits).

    Returns
    -------
    Tensor (int64) or ndarray (int64), same shape as ``x``. Silence (0.0) maps to
    class ``round(mu / 2)`` (128 for μ = 255).
    """
    if mu < 1 or int(mu) != mu:
        raise ValueError(f"mu_law_encode: mu must be a positive integer, got {mu!r}")
    if isinstance(x, np.ndarray):
        return mu_law_encode(torch.from_numpy(x), mu).numpy()
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"mu_law_encode: expected a float tensor or array, got {type(x).__name__} {getattr(x, 'dtype', '')}")
    x = x.clamp(-1.0, 1.0)
    f = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)  # [-1, 1], companded
    return torch.floor((f + 1) / 2 * mu + 0.5).long()  # [0, mu]


def mu_law_decode(q, mu: int = 255):
    """Integer classes in ``[0, mu]`` -> waveform in ``[-1, 1]`` (inverse of the encoder
    up to the quantization step).

    Returns float32, same shape (a tensor for a tensor, an array for an array).
    """
    if isinstance(q, np.ndarray):
        return mu_law_decode(torch.from_numpy(q), mu).numpy()
    if not isinstance(q, torch.Tensor):
        raise TypeError(f"mu_law_decode: expected a tensor or array of class ids, got {type(q).__name__}")
    if q.numel() and (q.min() < 0 or q.max() > mu):
        raise ValueError(f"mu_law_decode: class ids must lie in [0, {mu}], got [{int(q.min())}, {int(q.max())}]")
    f = 2 * q.float() / mu - 1  # [-1, 1]
    return torch.sign(f) * (torch.pow(1.0 + mu, f.abs()) - 1) / mu
