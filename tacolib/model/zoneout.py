"""An LSTM cell with zoneout (Krueger et al. 2016).

Zoneout is dropout for recurrent *state*: at each step, each unit of the state
``(h, c)`` keeps its previous value with probability ``p`` instead of taking the new
one. Gradients flow through the kept units unchanged across time, which regularizes
the LSTM without breaking its memory. As in the seed and Tacotron 2's public TF
implementation, only the state carried to the next step is zoned out: the cell's
*output* at this step (what the next layer sees) is the plain LSTM output.

    training:  state_next = m * state_prev + (1 - m) * state_new,   m ~ Bernoulli(p)
    eval:      state_next = p * state_prev + (1 - p) * state_new    (the expectation)
    output  =  h_new          (always; identical to nn.LSTMCell)
"""

from __future__ import annotations

import torch
import torch.nn as nn


class ZoneoutLSTMCell(nn.LSTMCell):
    """``nn.LSTMCell`` whose carried state is zoned out.

    Parameters
    ----------
    input_size, hidden_size : int
        As for ``nn.LSTMCell``.
    zoneout : float
        Probability ``p`` of keeping a unit's previous state (paper: 0.1).

    Shapes
    ------
    forward(x (B, input_size), (h, c) each (B, hidden_size))
        -> output (B, hidden_size), (h_next, c_next) each (B, hidden_size)
    """

    def __init__(self, input_size: int, hidden_size: int, zoneout: float = 0.1):
        super().__init__(input_size, hidden_size)
        if not 0.0 <= zoneout < 1.0:
            raise ValueError(f"ZoneoutLSTMCell: zoneout must be in [0, 1), got {zoneout}")
        self.zoneout = zoneout

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One step. Returns ``(output, (h_next, c_next))``; ``output`` is not zoned out."""
        h, c = state
        h_new, c_new = super().forward(x, (h, c))
        p = self.zoneout
        if p == 0.0:
            return h_new, (h_new, c_new)
        if self.training:
            keep_h = torch.empty_like(h_new).bernoulli_(p)  # 1 = keep the previous value
            keep_c = torch.empty_like(c_new).bernoulli_(p)
            h_next = h_new + keep_h * (h - h_new)
            c_next = c_new + keep_c * (c - c_new)
        else:
            h_next = torch.lerp(h_new, h, p)  # (1 - p) * h_new + p * h
            c_next = torch.lerp(c_new, c, p)
        return h_new, (h_next, c_next)
