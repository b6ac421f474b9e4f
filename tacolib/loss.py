"""Tacotron 2's training loss, with masking and an optional guided-attention prior.

The paper (Shen et al. 2018) sums three terms:

* MSE between the target mel and the decoder's mel (before the postnet), so the
  decoder itself must predict good frames: they are fed back as its next input;
* MSE between the target mel and the postnet's refined mel, the network's output;
* binary cross-entropy on the stop token ("is this the last frame?").

Batches are padded to the longest utterance, so every term is **masked**: padded
frames contribute nothing and each term is a mean over real frames only (notebook 07
shows what goes wrong otherwise). The stop token has one positive frame per utterance
among hundreds of negatives; ``pos_weight`` weighs the positives up.

The optional fourth term is the guided-attention loss of Tachibana et al. (2017): a
penalty on attention mass far from the diagonal (text position / text length close
to decoder step / decoder length). It is a prior, not a constraint, and it is what
makes the small CPU model of the course align in minutes (notebook 08). It is
summed over encoder positions and averaged over valid decoder steps: averaged over
all (step x position) cells it would be ~T_in times weaker and would not help
(measured on a 2-core CPU).

Examples
--------
>>> criterion = Tacotron2Loss.from_config(cfg)
>>> out = model(batch)
>>> losses = criterion(out, batch, step=step)
>>> losses["loss"].backward()   # losses also holds "mel", "postnet", "gate", "attention"
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from tacolib.masks import decoder_lengths, lengths_to_mask, make_gate_targets

__all__ = [
    "masked_mse",
    "masked_bce_with_logits",
    "guided_attention_weights",
    "guided_attention_loss",
    "Tacotron2Loss",
]


# ---- the terms ---------------------------------------------------------------------


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean squared error over real frames only.

    Parameters
    ----------
    pred, target : torch.Tensor
        ``(B, T_out, n_mels)``.
    mask : torch.Tensor or None
        ``(B, T_out)`` bool, True on real frames. None averages over everything
        (the unmasked loss of notebook 07's experiment).

    Returns
    -------
    torch.Tensor
        Scalar: ``sum(mask * (pred - target)^2) / (n_real_frames * n_mels)``.
    """
    if pred.shape != target.shape:
        raise ValueError(f"masked_mse: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if mask is None:
        return F.mse_loss(pred, target)
    if mask.shape != pred.shape[:2]:
        raise ValueError(f"masked_mse: mask {tuple(mask.shape)} must be (B, T_out) = {tuple(pred.shape[:2])}")
    m = mask.unsqueeze(-1).to(pred.dtype)  # (B, T_out, 1)
    sq = (pred - target) ** 2 * m  # (B, T_out, n_mels)
    return sq.sum() / (m.sum() * pred.shape[-1]).clamp(min=1.0)


def masked_bce_with_logits(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None, pos_weight: float = 1.0
) -> torch.Tensor:
    """Binary cross-entropy of the stop token over real frames only.

    Parameters
    ----------
    logits, targets : torch.Tensor
        ``(B, T_out)``: raw stop logits and 0/1 targets.
    mask : torch.Tensor or None
        ``(B, T_out)`` bool, True on real frames; None averages over everything.
    pos_weight : float
        Weight of the positive ("stop") frames, which are rare: one per utterance.

    Returns
    -------
    torch.Tensor
        Scalar, the mean over the frames kept.
    """
    if logits.shape != targets.shape:
        raise ValueError(f"masked_bce_with_logits: logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ")
    pw = torch.tensor(float(pos_weight), dtype=logits.dtype, device=logits.device)
    per_frame = F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), pos_weight=pw, reduction="none")
    if mask is None:
        return per_frame.mean()
    m = mask.to(logits.dtype)
    return (per_frame * m).sum() / m.sum().clamp(min=1.0)


def guided_attention_weights(
    text_lengths: torch.Tensor,
    dec_lengths: torch.Tensor,
    max_text_len: int,
    max_dec_len: int,
    sigma: float = 0.2,
) -> torch.Tensor:
    """Tachibana et al.'s penalty map ``W[t, n] = 1 - exp(-(n/N - t/T)^2 / (2 sigma^2))``.

    Zero on the diagonal, close to 1 far from it, and 0 on padding (both axes).

    Parameters
    ----------
    text_lengths : torch.Tensor
        ``(B,)`` N, valid encoder positions.
    dec_lengths : torch.Tensor
        ``(B,)`` T, valid decoder steps.
    max_text_len, max_dec_len : int
        ``T_in`` and ``T_dec`` of the alignment tensor.
    sigma : float
        Width of the allowed band, as a fraction of the lengths (paper: 0.2).

    Returns
    -------
    torch.Tensor
        ``(B, T_dec, T_in)`` float.
    """
    if sigma <= 0:
        raise ValueError(f"guided_attention_weights: sigma must be > 0, got {sigma}")
    text_lengths = torch.as_tensor(text_lengths)
    dec_lengths = torch.as_tensor(dec_lengths)
    n = torch.arange(max_text_len, device=text_lengths.device, dtype=torch.float32)  # (T_in,)
    t = torch.arange(max_dec_len, device=text_lengths.device, dtype=torch.float32)  # (T_dec,)
    x = n[None, None, :] / text_lengths.float().clamp(min=1)[:, None, None]  # (B, 1, T_in)
    y = t[None, :, None] / dec_lengths.float().clamp(min=1)[:, None, None]  # (B, T_dec, 1)
    w = 1.0 - torch.exp(-((x - y) ** 2) / (2.0 * sigma**2))  # (B, T_dec, T_in)
    mask = lengths_to_mask(dec_lengths, max_dec_len)[:, :, None] & lengths_to_mask(text_lengths, max_text_len)[:, None, :]
    return w * mask


def guided_attention_loss(
    alignments: torch.Tensor,
    text_lengths: torch.Tensor,
    dec_lengths: torch.Tensor,
    sigma: float = 0.2,
) -> torch.Tensor:
    """Guided-attention loss: attention mass off the diagonal, per valid decoder step.

    Parameters
    ----------
    alignments : torch.Tensor
        ``(B, T_dec, T_in)`` attention weights (each row sums to 1).
    text_lengths, dec_lengths : torch.Tensor
        ``(B,)`` valid encoder positions and decoder steps.
    sigma : float
        Band width (see :func:`guided_attention_weights`).

    Returns
    -------
    torch.Tensor
        Scalar in ``[0, 1)``: ``sum_{b,t,n} A * W / sum_b T_b`` (summed over encoder
        positions, averaged over valid decoder steps). 0 for a perfect diagonal.
    """
    if alignments.dim() != 3:
        raise ValueError(f"guided_attention_loss: alignments must be (B, T_dec, T_in), got {tuple(alignments.shape)}")
    B, T_dec, T_in = alignments.shape
    w = guided_attention_weights(text_lengths, dec_lengths, T_in, T_dec, sigma).to(alignments)
    n_steps = torch.as_tensor(dec_lengths, device=alignments.device).clamp(max=T_dec).sum().clamp(min=1)
    return (alignments * w).sum() / n_steps


# ---- the module --------------------------------------------------------------------


class Tacotron2Loss(nn.Module):
    """Masked mel + postnet MSE, masked stop-token BCE and optional guided attention.

    Parameters
    ----------
    gate_pos_weight : float
        ``pos_weight`` of the stop-token BCE (the positive frames are rare).
    guided_attention_weight : float
        Initial weight of the guided-attention term; 0 switches it off.
    guided_attention_sigma : float
        Width of its diagonal band (Tachibana et al.: 0.2).
    guided_attention_decay : float
        The weight at step ``s`` is ``weight * decay ** s`` (1.0: constant). Once the
        model aligns, the prior can fade away and let attention follow the audio.
    mask_padding : bool
        Mask padded frames out of every term (default). False reproduces the naive
        loss that averages over padding too (notebook 07).

    Forward
    -------
    outputs : dict
        The model's ``mel``, ``mel_postnet`` ``(B, T_out, n_mels)``, ``gate_logits``
        ``(B, T_out)`` and ``alignments`` ``(B, T_dec, T_in)``.
    batch : dict
        ``mel``, ``mel_lengths``, ``gate_targets``, ``text_lengths`` (and
        ``mel_mask``, rebuilt from ``mel_lengths`` when absent).
    step : int
        Training step, for the guided-attention decay.

    Returns a dict of scalars: ``loss`` (the total, to back-propagate), ``mel``,
    ``postnet``, ``gate``, ``attention`` (the unweighted guided-attention term, 0 when
    off) and ``attention_weight`` (its weight at this step).
    """

    def __init__(
        self,
        gate_pos_weight: float = 1.0,
        guided_attention_weight: float = 0.0,
        guided_attention_sigma: float = 0.2,
        guided_attention_decay: float = 1.0,
        mask_padding: bool = True,
    ):
        super().__init__()
        if guided_attention_weight < 0:
            raise ValueError(f"Tacotron2Loss: guided_attention_weight must be >= 0, got {guided_attention_weight}")
        if not 0 < guided_attention_decay <= 1:
            raise ValueError(f"Tacotron2Loss: guided_attention_decay must be in (0, 1], got {guided_attention_decay}")
        self.gate_pos_weight = float(gate_pos_weight)
        self.guided_attention_weight = float(guided_attention_weight)
        self.guided_attention_sigma = float(guided_attention_sigma)
        self.guided_attention_decay = float(guided_attention_decay)
        self.mask_padding = mask_padding

    @classmethod
    def from_config(cls, cfg, **overrides) -> "Tacotron2Loss":
        """Build from a :class:`~tacolib.config.Config` (its ``train`` section)."""
        t = cfg.train
        kw = dict(
            gate_pos_weight=t.gate_pos_weight,
            guided_attention_weight=t.guided_attention_weight,
            guided_attention_sigma=t.guided_attention_sigma,
            guided_attention_decay=t.guided_attention_decay,
        )
        kw.update(overrides)
        return cls(**kw)

    def attention_weight_at(self, step: int) -> float:
        """Weight of the guided-attention term at training step ``step``."""
        if self.guided_attention_weight == 0:
            return 0.0
        return self.guided_attention_weight * math.pow(self.guided_attention_decay, max(0, int(step)))

    def forward(self, outputs: dict, batch: dict, step: int = 0) -> dict:
        for k in ("mel", "mel_postnet", "gate_logits"):
            if k not in outputs:
                raise KeyError(f"Tacotron2Loss: model outputs lack {k!r} (got keys {sorted(outputs)})")
        target = batch["mel"]  # (B, T_out, n_mels)
        if outputs["mel"].shape != target.shape:
            raise ValueError(
                f"Tacotron2Loss: predicted mel {tuple(outputs['mel'].shape)} and target {tuple(target.shape)} "
                "differ (is T_out a multiple of r in the batch?)"
            )
        T_out = target.shape[1]
        mask = batch.get("mel_mask")
        if mask is None:
            mask = lengths_to_mask(batch["mel_lengths"], T_out)
        gate_targets = batch.get("gate_targets")
        if gate_targets is None:
            gate_targets = make_gate_targets(batch["mel_lengths"], T_out)
        m = mask if self.mask_padding else None

        mel_loss = masked_mse(outputs["mel"], target, m)
        postnet_loss = masked_mse(outputs["mel_postnet"], target, m)
        gate_loss = masked_bce_with_logits(outputs["gate_logits"], gate_targets, m, self.gate_pos_weight)
        total = mel_loss + postnet_loss + gate_loss

        w = self.attention_weight_at(step)
        attn_loss = torch.zeros((), device=target.device)
        if w > 0:
            align = outputs["alignments"]  # (B, T_dec, T_in)
            r = T_out // align.shape[1]
            attn_loss = guided_attention_loss(
                align, batch["text_lengths"], decoder_lengths(batch["mel_lengths"], r), self.guided_attention_sigma
            )
            total = total + w * attn_loss
        return {
            "loss": total,
            "mel": mel_loss.detach(),
            "postnet": postnet_loss.detach(),
            "gate": gate_loss.detach(),
            "attention": attn_loss.detach(),
            "attention_weight": w,
        }
