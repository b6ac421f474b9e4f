"""Checks for notebooks 07 (loss and masking) and 08 (single-batch overfit).

07: masked MSE, stop-token targets, and the whole loss as a module (all four terms;
``_loss`` is it written once more with knobs, for the check's known-wrong variants).
08: the guided-attention penalty map (its training step: :mod:`tacolib.checks.train`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tacolib.checks.core import CheckFailed, exercise
from tacolib.checks.modules import Case, Stage, module_exercise, variant
from tacolib.loss import Tacotron2Loss, guided_attention_weights
from tacolib.loss import masked_mse as _masked_mse
from tacolib.masks import decoder_lengths, lengths_to_mask
from tacolib.masks import make_gate_targets as _make_gate_targets

NOTEBOOK = "07_loss_and_masking"


def _mse_cases():
    g = torch.Generator().manual_seed(7)
    cases = []
    for lengths, T_out, n_mels in [([6, 3], 6, 4), ([9, 9, 1], 9, 5), ([2], 5, 3)]:
        pred = torch.randn(len(lengths), T_out, n_mels, generator=g)
        target = torch.randn(len(lengths), T_out, n_mels, generator=g)
        mask = lengths_to_mask(torch.tensor(lengths), T_out)
        target[~mask] = -4.1  # padding, as collate writes it
        cases.append(((pred, target, mask), {}))
    return cases


def _gate_cases():
    return [
        ((torch.tensor([4, 2]), 6), {}),
        ((torch.tensor([1, 5, 3]), 5), {}),
        ((torch.tensor([7]), 9), {}),
    ]


check_masked_mse = exercise(
    "masked_mse",
    NOTEBOOK,
    reference=_masked_mse,
    cases=_mse_cases,
    atol=1e-5,
)
check_masked_mse.__doc__ = """masked_mse(pred, target, mask) -> scalar: mean of (pred - target)^2 over real frames."""

check_make_gate_targets = exercise(
    "make_gate_targets",
    NOTEBOOK,
    reference=_make_gate_targets,
    cases=_gate_cases,
    atol=0.0,
    rtol=0.0,
)
check_make_gate_targets.__doc__ = """make_gate_targets(mel_lengths, max_len) -> (B, max_len) float: 1 from the last real frame on."""


# ---- 07 the loss as a module -----------------------------------------------------------

LOSS_KEYS = ("loss", "mel", "postnet", "gate", "attention")


def _loss(self, outputs, batch, step=0, mask=True, per_channel=True, pos_weight=True, gate_mask=True, ga="per_step",
          ga_weight=True, decoder_mel="mel"):
    target, m = batch["mel"], batch["mel_mask"]

    def mse(pred):
        if not mask:
            return ((pred - target) ** 2).mean()
        mm = m.unsqueeze(-1).to(pred.dtype)  # (B, T_out, 1)
        return ((pred - target) ** 2 * mm).sum() / (mm.sum() * (pred.shape[-1] if per_channel else 1))

    mel, post = mse(outputs[decoder_mel]), mse(outputs["mel_postnet"])
    pw = torch.tensor(self.gate_pos_weight if pos_weight else 1.0)
    bce = F.binary_cross_entropy_with_logits(outputs["gate_logits"], batch["gate_targets"], pos_weight=pw, reduction="none")
    gm = m.to(bce.dtype) if mask and gate_mask else torch.ones_like(bce)
    gate = (bce * gm).sum() / gm.sum()
    total, attn = mel + post + gate, torch.zeros(())
    w = self.guided_attention_weight
    if w > 0:
        a = outputs["alignments"]  # (B, T_dec, T_in)
        dl = decoder_lengths(batch["mel_lengths"], target.shape[1] // a.shape[1])
        pen = guided_attention_weights(batch["text_lengths"], dl, a.shape[2], a.shape[1], self.guided_attention_sigma)
        attn = (a * pen).sum() / dl.sum() if ga == "per_step" else (a * pen).mean()
        total = total + (w if ga_weight else 1.0) * attn
    return {"loss": total, "mel": mel, "postnet": post, "gate": gate, "attention": attn}


def _run_loss(m, outputs, batch):
    out = m(outputs, batch, step=0)
    if not isinstance(out, dict) or any(k not in out for k in LOSS_KEYS):
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise CheckFailed(f"Tacotron2Loss: forward must return a dict with the keys {list(LOSS_KEYS)}, got {got}")
    return {k: torch.as_tensor(out[k]) for k in LOSS_KEYS}


def _loss_case(desc, mel_lengths, text_lengths, T_out, r, seed):
    g = torch.Generator().manual_seed(seed)
    B, T_in, T_dec = len(mel_lengths), max(text_lengths), T_out // r
    lengths = torch.tensor(mel_lengths)
    mask = lengths_to_mask(lengths, T_out)
    target = torch.randn(B, T_out, 4, generator=g).masked_fill(~mask.unsqueeze(-1), -4.1)
    rows = lengths_to_mask(torch.tensor(text_lengths), T_in)[:, None, :].expand(B, T_dec, T_in)
    align = torch.softmax(torch.randn(B, T_dec, T_in, generator=g).masked_fill(~rows, float("-inf")), dim=-1)
    outputs = {"mel": torch.randn(B, T_out, 4, generator=g), "mel_postnet": torch.randn(B, T_out, 4, generator=g),
               "gate_logits": 2 * torch.randn(B, T_out, generator=g), "alignments": align}
    batch = {"mel": target, "mel_lengths": lengths, "mel_mask": mask, "gate_targets": _make_gate_targets(lengths, T_out),
             "text_lengths": torch.tensor(text_lengths)}
    return Case(desc, {"outputs": outputs, "batch": batch})


check_tacotron2_loss = module_exercise(
    "Tacotron2Loss", NOTEBOOK, Tacotron2Loss,
    kwargs=dict(gate_pos_weight=5.0, guided_attention_weight=0.5, guided_attention_sigma=0.3),
    cases=lambda: [
        _loss_case("3 utterances, mel lengths [12, 7, 2], text lengths [5, 3, 2], r = 3", [12, 7, 2], [5, 3, 2], 12, 3, 20),
        _loss_case("2 utterances of 9 frames, text length 4, r = 3", [9, 9], [4, 4], 9, 3, 21),
    ],
    stages=[
        Stage("pos_weight 5, guided attention weight 0.5", run=_run_loss),
        Stage("guided attention off (weight 0)", kwargs={"guided_attention_weight": 0.0}, run=_run_loss,
              hint="With guided_attention_weight 0, skip the term: 'attention' is a zero tensor and the total has three terms."),
    ],
    variants=[
        variant("every term averaged over the padded frames too", "Average over real frames only: use batch['mel_mask'].", _loss, mask=False),
        variant("the masked sum divided by the number of real frames", "Divide by real frames x n_mels: a mean over real values.",
                _loss, per_channel=False),
        variant("the stop-token BCE without pos_weight", "pos_weight=torch.tensor(self.gate_pos_weight) weighs up the rare stop frames.",
                _loss, pos_weight=False),
        variant("the stop-token BCE averaged over padded frames too", "Mask the per-frame BCE with mel_mask, then average over real frames.",
                _loss, gate_mask=False),
        variant("guided attention averaged over all (step, position) cells",
                "Sum the penalty over encoder positions and divide by the number of valid decoder steps.", _loss, ga="mean"),
        variant("the guided-attention term added without its weight", "Add guided_attention_weight * attention to the total.",
                _loss, ga_weight=False),
        variant("the mel term computed on mel_postnet", "The 'mel' term compares the decoder's own output, outputs['mel'].",
                _loss, decoder_mel="mel_postnet"),
    ],
    from_reference=lambda m: dict(gate_pos_weight=m.gate_pos_weight, guided_attention_weight=m.guided_attention_weight,
                                  guided_attention_sigma=m.guided_attention_sigma),
    grad_outputs=lambda out: out["loss"],
)


# ---- notebook 08: alignment --------------------------------------------------------

NOTEBOOK_08 = "08_single_batch_overfit"


def _guided_reference(text_length: int, dec_length: int, sigma: float) -> torch.Tensor:
    """Guided-attention penalty ``W`` ``(dec_length, text_length)`` of one utterance."""
    from tacolib.loss import guided_attention_weights

    return guided_attention_weights(torch.tensor([text_length]), torch.tensor([dec_length]), text_length, dec_length, sigma)[0]


def _guided_cases():
    return [((12, 30, 0.2), {}), ((7, 7, 0.4), {}), ((40, 25, 0.1), {})]


check_guided_attention_matrix = exercise("guided_attention_matrix", NOTEBOOK_08, reference=_guided_reference, cases=_guided_cases)
