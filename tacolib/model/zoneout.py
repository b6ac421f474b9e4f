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

    def sample_masks(self, steps: int, batch_size: int, device=None) -> torch.Tensor:
        """Zoneout masks for a whole sequence in one draw (much cheaper than per step).

        Returns
        -------
        torch.Tensor
            ``(steps, 2, B, hidden_size)`` bool, True where a unit keeps its previous
            value; ``[:, 0]`` is for ``h``, ``[:, 1]`` for ``c``.
        """
        return torch.rand(steps, 2, batch_size, self.hidden_size, device=device) < self.zoneout

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], keep: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One step. Returns ``(output, (h_next, c_next))``; ``output`` is not zoned out.

        ``keep`` ``(2, B, hidden_size)`` bool: this step's masks from :meth:`sample_masks`
        (training only; drawn here when None).
        """
        h, c = state
        h_new, c_new = super().forward(x, (h, c))
        p = self.zoneout
        if p == 0.0:
            return h_new, (h_new, c_new)
        if self.training:
            if keep is None:
                keep = torch.rand(2, *h_new.shape, device=h_new.device) < p
            h_next = torch.where(keep[0], h, h_new)  # keep the previous value where True
            c_next = torch.where(keep[1], c, c_new)
        else:
            h_next = torch.lerp(h_new, h, p)  # (1 - p) * h_new + p * h
            c_next = torch.lerp(c_new, c, p)
        return h_new, (h_next, c_next)
