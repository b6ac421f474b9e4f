"""The prenet: a bottleneck the previous mel frame passes through before the decoder.

    previous frame (B, n_mels) ─► Linear ─► ReLU ─► Dropout 0.5 ─► Linear ─► ReLU ─► Dropout 0.5 ─► (B, d_pre)

Its dropout stays ON at inference (Shen et al. 2018), the usual explanation being that
without the noise it was trained with, the decoder leans on its own previous output
until it collapses or never stops. On the course's trained models switching it off did
not do that: they aligned and stopped as well, with mels slightly closer to the
recordings (notebook 09, ``benchmarks/prenet_dropout.py``); it does make every reading
of a sentence identical. With it on, inference is random unless you seed torch.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from tacolib.model.layers import dropout, linear


class Prenet(nn.Module):
    """Two ReLU layers with always-on dropout.

    Parameters
    ----------
    in_dim : int
        Input width (``n_mels``).
    sizes : list of int
        Output width of each layer (paper: [256, 256]).
    dropout : float
        Dropout probability, applied in training *and* in eval mode.

    Attributes
    ----------
    dropout_in_eval : bool
        True (the paper). Set False only to make eval-mode outputs deterministic,
        e.g. in a test comparing two runs.

    Shapes
    ------
    forward(x (..., in_dim)) -> (..., sizes[-1])
    """

    def __init__(self, in_dim: int, sizes: list[int], dropout: float = 0.5):
        super().__init__()
        dims = [in_dim] + list(sizes)
        self.layers = nn.ModuleList(linear(a, b, bias=False, nonlinearity="relu") for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = dropout
        self.dropout_in_eval = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the prenet to ``x`` of shape ``(..., in_dim)``; returns ``(..., sizes[-1])``."""
        active = self.training or self.dropout_in_eval
        for layer in self.layers:
            x = dropout(F.relu(layer(x)), self.dropout, active)
        return x
