"""Location-sensitive attention (Chorowski et al. 2015), as used by Tacotron 2.

At decoder step i, the attention decides which characters the decoder reads:

    f_i    = F * [alpha_{i-1}; sum_{k<i} alpha_k]            location features (B, T_in, n_filters)
    e_ij   = v^T tanh(W s_i + V h_j + U f_ij + b)            energies (B, T_in)
    alpha_i = softmax_j(e_ij)  (padded j masked to -inf)      weights (B, T_in)
    c_i    = sum_j alpha_ij h_j                               context (B, d_enc)

``s_i`` is the attention LSTM's output (the query), ``h_j`` the encoder output (the
memory). The content term ``V h_j + b`` does not depend on the step, so it is computed
once per utterance (:meth:`LocationSensitiveAttention.process_memory`). The location
term looks at where the attention was (previous weights) and where it has been
(cumulative weights), which pushes it to move forward monotonically.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from tacolib.model.layers import conv1d, linear


class LocationLayer(nn.Module):
    """``U f``: convolve [previous, cumulative] weights, then project to the attention space.

    Parameters
    ----------
    n_filters : int
        Convolution channels (paper: 32).
    kernel_size : int
        Convolution width in encoder positions (paper: 31).
    attention_dim : int
        Width of the attention space (paper: 128).

    Shapes
    ------
    forward(weights_cat (B, 2, T_in)) -> (B, T_in, attention_dim)
    """

    def __init__(self, n_filters: int = 32, kernel_size: int = 31, attention_dim: int = 128):
        super().__init__()
        self.conv = conv1d(2, n_filters, kernel_size, bias=False)
        self.dense = linear(n_filters, attention_dim, bias=False, nonlinearity="tanh")

    def forward(self, weights_cat: torch.Tensor) -> torch.Tensor:
        f = self.conv(weights_cat)  # (B, n_filters, T_in)
        return self.dense(f.transpose(1, 2))  # (B, T_in, attention_dim)

    def fused_weight(self) -> torch.Tensor:
        """Conv then linear is one convolution: ``(attention_dim, 2, kernel_size)`` weight.

        Used by the decoder's inference loop to do the location term in one op.
        """
        # dense.weight (A, n_filters) @ conv.weight (n_filters, 2*k) -> (A, 2*k)
        k = self.conv.kernel_size[0]
        w = self.dense.weight @ self.conv.weight.reshape(self.conv.out_channels, -1)
        return w.reshape(-1, 2, k)


class LocationSensitiveAttention(nn.Module):
    """Additive attention with location features.

    Parameters
    ----------
    query_dim : int
        Width of the query ``s`` (the attention LSTM, paper: 1024).
    memory_dim : int
        Width of the encoder output ``h`` (``d_enc``, 512).
    attention_dim : int
        Width of the space where query, memory and location meet (128).
    n_filters, kernel_size : int
        Location convolution (32 filters of width 31).

    Notes
    -----
    ``W`` is ``query_layer`` (no bias), ``V`` and ``b`` are ``memory_layer``'s weight
    and bias, ``U`` is ``location_layer``, ``v`` is ``v``. Xavier gains: tanh for the
    three projections (they feed the tanh), linear for ``v``.
    """

    def __init__(self, query_dim: int = 1024, memory_dim: int = 512, attention_dim: int = 128, n_filters: int = 32, kernel_size: int = 31):
        super().__init__()
        self.query_layer = linear(query_dim, attention_dim, bias=False, nonlinearity="tanh")  # W
        self.memory_layer = linear(memory_dim, attention_dim, bias=True, nonlinearity="tanh")  # V, b
        self.location_layer = LocationLayer(n_filters, kernel_size, attention_dim)  # U (and F)
        self.v = linear(attention_dim, 1, bias=False)  # v

    def process_memory(self, memory: torch.Tensor) -> torch.Tensor:
        """``V h + b`` for every encoder position, once per utterance.

        ``(B, T_in, d_enc)`` -> ``(B, T_in, attention_dim)``.
        """
        return self.memory_layer(memory)

    def energies(self, query: torch.Tensor, processed_memory: torch.Tensor, weights_cat: torch.Tensor) -> torch.Tensor:
        """``e = v^T tanh(W s + V h + U f + b)``.

        Parameters
        ----------
        query : torch.Tensor
            ``(B, query_dim)``, the attention LSTM output ``s``.
        processed_memory : torch.Tensor
            ``(B, T_in, attention_dim)`` from :meth:`process_memory`.
        weights_cat : torch.Tensor
            ``(B, 2, T_in)``: previous and cumulative attention weights.

        Returns
        -------
        torch.Tensor
            ``(B, T_in)`` unnormalized energies (not masked).
        """
        q = self.query_layer(query).unsqueeze(1)  # (B, 1, A)
        loc = self.location_layer(weights_cat)  # (B, T_in, A)
        return self.v(torch.tanh(q + processed_memory + loc)).squeeze(-1)  # (B, T_in)

    def forward(
        self,
        query: torch.Tensor,
        memory: torch.Tensor,
        processed_memory: torch.Tensor,
        weights_cat: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One attention step.

        Parameters
        ----------
        query : torch.Tensor
            ``(B, query_dim)``.
        memory : torch.Tensor
            ``(B, T_in, d_enc)`` encoder outputs.
        processed_memory : torch.Tensor
            ``(B, T_in, attention_dim)``.
        weights_cat : torch.Tensor
            ``(B, 2, T_in)`` previous and cumulative weights.
        mask : torch.Tensor, optional
            ``(B, T_in)`` bool, True on real encoder positions; None when nothing is padded.

        Returns
        -------
        context : torch.Tensor
            ``(B, d_enc)``.
        weights : torch.Tensor
            ``(B, T_in)``, sums to 1 over real positions, exactly 0 on padded ones.
        """
        e = self.energies(query, processed_memory, weights_cat)  # (B, T_in)
        if mask is not None:
            e = e.masked_fill(~mask, float("-inf"))
        weights = F.softmax(e, dim=1)  # (B, T_in)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, d_enc)
        return context, weights
