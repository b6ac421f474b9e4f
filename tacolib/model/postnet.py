"""The postnet: a convolutional network that polishes the decoder's mel.

    mel (B, T_out, n_mels) ─► 4 × [Conv1d k=5 (d_post) ─► BatchNorm ─► tanh ─► Dropout 0.5]
                           ─► Conv1d k=5 (n_mels) ─► BatchNorm ─► Dropout 0.5 ─► residual
    mel_postnet = mel + residual

The decoder produces one frame at a time and never sees the future; the postnet looks
at 2 frames on each side per layer (±10 frames over 5 layers) and adds a correction.
Padded frames are zeroed before each convolution so they cannot leak into real ones.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from tacolib.config import Config
from tacolib.masks import lengths_to_mask
from tacolib.model.layers import conv1d, conv_norm_time_major, dropout, dropout_channels_first, fast_tanh


class Postnet(nn.Module):
    """Five 1-D convolutions with BatchNorm; tanh on all but the last; a residual.

    Parameters
    ----------
    n_mels : int
        Mel channels in and out.
    postnet_dim : int
        Channels of the hidden convolutions (paper: 512).
    kernel_size, n_convs : int
        5 and 5 in the paper.
    dropout : float
        Dropout after each layer (0.5), training only.
    time_major : bool
        Run the fast twin of :meth:`residual` (:meth:`residual_time_major`, same
        numbers); False runs the readable loop below.

    Shapes
    ------
    forward(mel (B, T_out, n_mels), mel_lengths (B,) or None) -> mel_postnet (B, T_out, n_mels)
    """

    def __init__(self, n_mels: int, postnet_dim: int = 512, kernel_size: int = 5, n_convs: int = 5, dropout: float = 0.5,
                 time_major: bool = True):
        super().__init__()
        if n_convs < 2:
            raise ValueError(f"Postnet: n_convs must be >= 2, got {n_convs}")
        dims = [n_mels] + [postnet_dim] * (n_convs - 1) + [n_mels]
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for i in range(n_convs):
            last = i == n_convs - 1
            self.convs.append(conv1d(dims[i], dims[i + 1], kernel_size, bias=False, nonlinearity="linear" if last else "tanh"))
            self.norms.append(nn.BatchNorm1d(dims[i + 1]))
        self.dropout = dropout
        self.time_major = time_major

    @classmethod
    def from_config(cls, cfg: Config) -> "Postnet":
        m = cfg.model
        return cls(
            n_mels=cfg.audio.n_mels, postnet_dim=m.postnet_embedding_dim, kernel_size=m.postnet_kernel_size,
            n_convs=m.postnet_n_convs, dropout=m.postnet_dropout, time_major=m.fast_paths,
        )

    def residual(self, mel: torch.Tensor, mel_lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The correction alone: ``(B, T_out, n_mels)`` -> ``(B, T_out, n_mels)``."""
        if self.time_major:
            return self.residual_time_major(mel, mel_lengths)
        x = mel.transpose(1, 2)  # (B, n_mels, T_out)
        mask = None
        if mel_lengths is not None:
            mask = lengths_to_mask(mel_lengths, x.shape[2]).unsqueeze(1).to(x.dtype)  # (B, 1, T_out)
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            if mask is not None:
                x = x * mask
            x = norm(conv(x))  # (B, d_post or n_mels, T_out)
            if i < last:
                x = torch.tanh(x)
            x = dropout(x, self.dropout, self.training)
        return x.transpose(1, 2)  # (B, T_out, n_mels)

    def residual_time_major(self, mel: torch.Tensor, mel_lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The fast twin of the readable loop in :meth:`residual`: same numbers, time-major throughout.

        Channels-last convolutions and BatchNorm (:func:`conv_norm_time_major`),
        ``tanh`` as ``2 sigmoid(2x) - 1`` (:func:`fast_tanh`), dropout masks drawn in the
        readable layout's order, each with the next layer's frame mask folded in
        (:func:`dropout_channels_first`). Measured in ``benchmarks/train_step.py``'s docstring.
        """
        B, T, _ = mel.shape
        mask = None if mel_lengths is None else lengths_to_mask(mel_lengths, T).unsqueeze(2).to(mel.dtype)  # (B, T_out, 1)
        x = mel if mask is None else mel * mask  # (B, T_out, n_mels)
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = conv_norm_time_major(x, conv, norm)  # (B, T_out, d_post or n_mels)
            if i < last:
                x = fast_tanh(x)
            x = dropout_channels_first(x, self.dropout, self.training, mask if i < last else None)  # next layer's input masked
        return x  # (B, T_out, n_mels)

    def forward(self, mel: torch.Tensor, mel_lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``mel + residual(mel)``; ``mel_lengths`` (B,) masks padded frames (None: all real)."""
        return mel + self.residual(mel, mel_lengths)
