"""A small non-autoregressive acoustic model: durations instead of attention (FastSpeech's idea).

Tacotron 2 decides *where* to read at every step (attention) and *when* to stop (the
stop token), one step after another. FastSpeech (Ren et al. 2019; FastSpeech 2, 2021)
is told instead how many frames each symbol lasts, so every frame can be computed
at once::

    tokens (B, T_in) ─► Embedding ─► conv blocks ─► h (B, T_in, d)
    h ─► DurationPredictor ─► log(1 + frames) per symbol (B, T_in)     (trained on durations
                                                                      read off a Tacotron's attention)
    h, durations ─► LengthRegulator: h_j repeated d_j times ─► (B, T_out, d)
                    + where each frame sits inside its symbol (0 at its start, ~1 at its end)
       ─► conv blocks ─► Linear ─► mel (B, T_out, n_mels)

No attention, no stop token, no feedback of the model's own frames: nothing can skip,
repeat or fail to stop, and the cost is a few convolutions whatever the length. This
one is deliberately tiny (convolutions only, no pitch or energy predictors, no
self-attention): a CPU trains it in minutes (notebook 12, :mod:`tacolib.durations`).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from tacolib.masks import lengths_to_mask

__all__ = ["LengthRegulator", "ConvBlocks", "DurationPredictor", "MiniFastSpeech"]


class ConvBlocks(nn.Module):
    """``n`` blocks of Conv1d (same length) -> ReLU -> LayerNorm -> dropout, residual; ``(B, T, d) -> (B, T, d)``.

    Padded positions (``mask`` False) are zeroed after every block, so they never leak in.
    """

    def __init__(self, d: int, n: int = 3, kernel_size: int = 5, dropout: float = 0.1):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(d, d, kernel_size, padding=kernel_size // 2) for _ in range(n))
        self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(n))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        for conv, norm in zip(self.convs, self.norms):
            y = torch.relu(conv((x * keep).transpose(1, 2))).transpose(1, 2)  # (B, T, d)
            x = norm(x + self.dropout(y))
        return x * keep


class DurationPredictor(nn.Module):
    """``h (B, T_in, d)`` -> ``log(1 + frames)`` of each symbol ``(B, T_in)`` (FastSpeech's duration predictor)."""

    def __init__(self, d: int, kernel_size: int = 3, dropout: float = 0.1):
        super().__init__()
        self.blocks = ConvBlocks(d, 2, kernel_size, dropout)
        self.out = nn.Linear(d, 1)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(h, mask)).squeeze(-1) * mask  # (B, T_in)


class LengthRegulator(nn.Module):
    """Repeat each symbol's vector for as many frames as it lasts.

    Shapes
    ------
    forward(h (B, T_in, d), durations (B, T_in) long frames) ->
        frames (B, T_out, d), position (B, T_out) in [0, 1): where each frame sits inside
        its symbol, mel_lengths (B,) = durations.sum(1); ``T_out`` = the largest sum.
    """

    def forward(self, h: torch.Tensor, durations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        durations = durations.long().clamp(min=0)  # (B, T_in)
        lengths = durations.sum(1)  # (B,)
        T_out = max(1, int(lengths.max()))
        ends = durations.cumsum(1)  # (B, T_in): first frame after each symbol
        t = torch.arange(T_out, device=h.device)  # (T_out,)
        index = torch.searchsorted(ends, t.expand(len(h), -1).contiguous(), right=True)  # (B, T_out) symbol of each frame
        index = index.clamp(max=h.shape[1] - 1)
        frames = torch.gather(h, 1, index.unsqueeze(-1).expand(-1, -1, h.shape[2]))  # (B, T_out, d)
        start = ends.gather(1, index) - durations.gather(1, index)  # (B, T_out)
        position = (t - start).float() / durations.gather(1, index).clamp(min=1).float()  # (B, T_out)
        valid = lengths_to_mask(lengths, T_out)  # (B, T_out)
        return frames * valid.unsqueeze(-1), position * valid, lengths


class MiniFastSpeech(nn.Module):
    """The whole non-autoregressive model (see the module docstring).

    Parameters
    ----------
    n_symbols : int
        Vocabulary size (``cfg.text.n_symbols``).
    n_mels : int
    d : int
        Width of every layer.
    n_layers : int
        Conv blocks before and after the length regulator (each).
    kernel_size : int
    dropout : float
    """

    def __init__(self, n_symbols: int, n_mels: int = 80, d: int = 128, n_layers: int = 3, kernel_size: int = 5, dropout: float = 0.1):
        super().__init__()
        self.embedding = nn.Embedding(n_symbols, d, padding_idx=0)
        self.encoder = ConvBlocks(d, n_layers, kernel_size, dropout)
        self.duration = DurationPredictor(d, 3, dropout)
        self.regulator = LengthRegulator()
        self.position = nn.Linear(2, d)
        self.decoder = ConvBlocks(d, n_layers, kernel_size, dropout)
        self.out = nn.Linear(d, n_mels)

    @classmethod
    def from_config(cls, cfg, **kwargs) -> "MiniFastSpeech":
        return cls(cfg.text.n_symbols, cfg.audio.n_mels, **kwargs)

    def forward(self, text: torch.Tensor, text_lengths: torch.Tensor, durations: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Mels from token ids, with the given durations (training) or predicted ones.

        Parameters
        ----------
        text : torch.Tensor
            ``(B, T_in)`` long ids, padded with 0.
        text_lengths : torch.Tensor
            ``(B,)``.
        durations : torch.Tensor, optional
            ``(B, T_in)`` frames per symbol (0 on padding). Default: predicted,
            ``round(exp(log_duration) - 1)``.

        Returns
        -------
        dict
            ``mel`` ``(B, T_out, n_mels)``, ``mel_lengths`` ``(B,)``, ``log_duration``
            ``(B, T_in)`` (the predictor's output), ``durations`` ``(B, T_in)`` used.
        """
        mask = lengths_to_mask(text_lengths, text.shape[1])  # (B, T_in)
        h = self.encoder(self.embedding(text), mask)  # (B, T_in, d)
        log_d = self.duration(h, mask)  # (B, T_in)
        if durations is None:
            durations = (torch.exp(log_d) - 1).round().clamp(min=0).long()
        durations = durations.long() * mask  # (B, T_in): nothing on padding
        x, pos, mel_lengths = self.regulator(h, durations)  # (B, T_out, d), (B, T_out), (B,)
        frame_mask = lengths_to_mask(mel_lengths, x.shape[1])  # (B, T_out)
        x = x + self.position(torch.stack([pos, 1 - pos], -1)) * frame_mask.unsqueeze(-1)
        mel = self.out(self.decoder(x, frame_mask))  # (B, T_out, n_mels)
        return {"mel": mel, "mel_lengths": mel_lengths, "log_duration": log_d, "durations": durations}
