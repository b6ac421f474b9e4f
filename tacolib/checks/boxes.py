"""Module exercises for notebooks 03, 04 and 06: the encoder, the attention, the postnet.

Each box is checked against :mod:`tacolib.model` with :mod:`tacolib.checks.modules`. The
``_encoder``, ``_attention`` and ``_postnet`` functions below are the boxes' forward
passes written once more with *knobs*: with every knob at its default they compute
exactly what tacolib computes (``tests/test_module_exercises.py`` proves it), and each
:class:`~tacolib.checks.modules.Variant` turns one knob to a mistake a learner makes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tacolib.checks.model import NB_ATTENTION, NB_ENCODER
from tacolib.checks.modules import Case, Stage, module_exercise, variant
from tacolib.model import Encoder, LocationSensitiveAttention, Postnet
from tacolib.masks import lengths_to_mask
from tacolib.model.layers import dropout

__all__ = ["dropout_as", "padded_ids", "padded_features", "check_encoder", "check_attention", "check_postnet"]

NB_POSTNET = "06_postnet"

#: The fix for a dropout whose random draws differ from tacolib's (said by several checks).
DROPOUT_FIX = ("Use dropout(x, p, active) from tacolib.model.layers: the same distribution as F.dropout, and the "
               "check replays its random draws from one seed.")


def dropout_as(x: torch.Tensor, p: float, active: bool, how: str = "tacolib") -> torch.Tensor:
    """Dropout the way a variant applies it: ``"tacolib"``, ``"F"`` (F.dropout), ``"none"``, ``"always"``."""
    if how == "F":
        return F.dropout(x, p, active)
    if how == "none":
        return x
    return dropout(x, p, active or how == "always")


def padded_ids(lengths: list[int], n_symbols: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random token ids ``(B, max(lengths))`` (never 0 or 1), padded with 0; and the lengths ``(B,)``."""
    g = torch.Generator().manual_seed(seed)
    lengths_t = torch.tensor(lengths)
    ids = torch.randint(2, n_symbols, (len(lengths), max(lengths)), generator=g)
    return ids.masked_fill(~lengths_to_mask(lengths_t, max(lengths)), 0), lengths_t


def padded_features(lengths: list[int], dim: int, seed: int, pad: float = 0.0, total: int | None = None) -> torch.Tensor:
    """Random ``(B, total or max(lengths), dim)`` features, ``pad`` after each length."""
    g = torch.Generator().manual_seed(seed)
    T = total or max(lengths)
    x = torch.randn(len(lengths), T, dim, generator=g)
    return x.masked_fill(~lengths_to_mask(torch.tensor(lengths), T).unsqueeze(-1), pad)


def _masked_rows(lengths: list[int], T: int, seed: int) -> torch.Tensor:
    """Rows of random attention weights ``(B, T)``: sum to 1 over real positions, 0 on padding."""
    g = torch.Generator().manual_seed(seed)
    e = torch.randn(len(lengths), T, generator=g).masked_fill(~lengths_to_mask(torch.tensor(lengths), T), float("-inf"))
    return torch.softmax(e, dim=1)


# ---- 03 the encoder ----------------------------------------------------------------------------


def _encoder(self, text, text_lengths, mask=True, bn_first=True, pack=True, drop="tacolib"):
    T_in = text.shape[1]
    m = lengths_to_mask(text_lengths, T_in).unsqueeze(1).to(self.embedding.weight.dtype)  # (B, 1, T_in)
    x = self.embedding(text).transpose(1, 2)  # (B, d_emb, T_in)
    for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
        if mask:
            x = x * m
        x = F.relu(norm(conv(x))) if bn_first else norm(F.relu(conv(x)))
        x = dropout_as(x, self.dropout, self.training, drop)
    x = x.transpose(1, 2)  # (B, T_in, d_enc)
    if not pack:
        return self.lstm(x)[0]
    packed = pack_padded_sequence(x, text_lengths.cpu(), batch_first=True, enforce_sorted=False)
    return pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=T_in)[0]


def _encoder_cases():
    return [
        Case("3 utterances, lengths [9, 5, 2], padded to 9", dict(zip(("text", "text_lengths"), padded_ids([9, 5, 2], 12, 30)))),
        Case("2 utterances of length 6, no padding", dict(zip(("text", "text_lengths"), padded_ids([6, 6], 12, 31)))),
    ]


check_encoder = module_exercise(
    "Encoder", NB_ENCODER, Encoder,
    kwargs=dict(n_symbols=12, embedding_dim=6, encoder_dim=8, n_convs=3, kernel_size=5, dropout=0.5),
    cases=_encoder_cases,
    stages=[
        Stage("eval mode"),
        Stage("training mode, dropout 0", train=True, kwargs={"dropout": 0.0},
              hint="Training mode normalizes with the batch's own statistics: use nn.BatchNorm1d, not a formula."),
        Stage("training mode, dropout 0.5, same seed", train=True,
              hint="So look at the dropout after each block. " + DROPOUT_FIX),
    ],
    variants=[
        variant("padded positions not zeroed before every convolution",
                "Multiply x by the (B, 1, T_in) mask of real positions before each convolution: BatchNorm's shift makes "
                "padding non-zero after every block, and the kernel would mix it into the last characters.", _encoder, mask=False),
        variant("BatchNorm after the ReLU (conv -> ReLU -> BatchNorm)",
                "Tacotron 2's block is conv -> BatchNorm -> ReLU -> dropout.", _encoder, bn_first=False),
        variant("the LSTM run over the padded sequence (no packing)",
                "pack_padded_sequence(x, text_lengths.cpu(), batch_first=True, enforce_sorted=False) before the LSTM and "
                "pad_packed_sequence(..., batch_first=True, total_length=T_in) after it: the backward direction must start "
                "at each utterance's own end.", _encoder, pack=False),
        variant("dropout drawn with F.dropout", DROPOUT_FIX, _encoder, drop="F"),
        variant("no dropout after the blocks", "Apply dropout(x, self.dropout, self.training) after each ReLU.", _encoder, drop="none"),
        variant("dropout active in eval mode too", "Pass self.training as `active`: the encoder's dropout is for training only.",
                _encoder, drop="always"),
    ],
    from_reference=lambda m: dict(
        n_symbols=m.embedding.num_embeddings, embedding_dim=m.embedding.embedding_dim, encoder_dim=2 * m.lstm.hidden_size,
        n_convs=len(m.convs), kernel_size=m.convs[0].kernel_size[0], dropout=m.dropout,
    ),
    attributes={"dropout": float},
)


# ---- 04 location-sensitive attention -------------------------------------------------------------


def _attention(self, query, memory, processed_memory, weights_cat, mask=None, masking="-inf", swap=False, recompute=False, dim=1):
    wc = weights_cat.flip(1) if swap else weights_cat
    pm = self.process_memory(memory) if recompute else processed_memory
    e = self.energies(query, pm, wc)  # (B, T_in)
    if mask is not None and masking in ("-inf", "zero"):
        e = e.masked_fill(~mask, float("-inf") if masking == "-inf" else 0.0)
    w = torch.softmax(e, dim=dim)
    if mask is not None and masking == "after":
        w = w * mask
    return torch.bmm(w.unsqueeze(1), memory).squeeze(1), w


def _attention_case(desc, lengths, T_in, seed, masked):
    g = torch.Generator().manual_seed(seed)
    prev = _masked_rows(lengths, T_in, seed + 1)
    cum = prev + _masked_rows(lengths, T_in, seed + 2)
    mask = lengths_to_mask(torch.tensor(lengths), T_in)
    return Case(desc, dict(
        query=torch.randn(len(lengths), 5, generator=g),
        memory=padded_features(lengths, 6, seed + 3, total=T_in),
        processed_memory=torch.randn(len(lengths), T_in, 4, generator=g),
        weights_cat=torch.stack([prev, cum], dim=1),
        mask=mask if masked else None,
    ))


check_attention = module_exercise(
    "LocationSensitiveAttention", NB_ATTENTION, LocationSensitiveAttention,
    kwargs=dict(query_dim=5, memory_dim=6, attention_dim=4, n_filters=3, kernel_size=3),
    cases=lambda: [
        _attention_case("3 utterances, lengths [7, 4, 2], padded to 7", [7, 4, 2], 7, 40, True),
        _attention_case("2 utterances of length 5, mask=None", [5, 5], 5, 50, False),
    ],
    stages=[Stage("one attention step")],
    variants=[
        variant("no mask: padded positions get weight", "Set the energies of padded positions to -inf before the softmax.",
                _attention, masking="none"),
        variant("padded energies set to 0 instead of -inf", "exp(0) is not 0: mask with float('-inf') so they get exactly zero weight.",
                _attention, masking="zero"),
        variant("the weights zeroed after the softmax", "Then the rows no longer sum to 1: mask the energies (-inf) before the softmax.",
                _attention, masking="after"),
        variant("previous and cumulative weights swapped", "weights_cat[:, 0] is the previous step's weights, [:, 1] their running sum.",
                _attention, swap=True),
        variant("V h + b recomputed from memory", "Use the processed_memory argument: it is computed once per utterance, not at every step.",
                _attention, recompute=True),
        variant("the softmax over the batch (dim 0)", "The weights are a distribution over encoder positions: softmax over dim 1.",
                _attention, dim=0),
    ],
    from_reference=lambda m: dict(
        query_dim=m.query_layer.in_features, memory_dim=m.memory_layer.in_features, attention_dim=m.query_layer.out_features,
        n_filters=m.location_layer.conv.out_channels, kernel_size=m.location_layer.conv.kernel_size[0],
    ),
)


# ---- 06 the postnet ---------------------------------------------------------------------------------


def _postnet(self, mel, mel_lengths=None, residual=True, tanh_last=False, mask=True, bn_first=True, drop_last=True):
    x = mel.transpose(1, 2)  # (B, n_mels, T_out)
    m = lengths_to_mask(mel_lengths, x.shape[2]).unsqueeze(1).to(x.dtype) if mask and mel_lengths is not None else None
    last = len(self.convs) - 1
    for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
        if m is not None:
            x = x * m
        act = torch.tanh if i < last or tanh_last else (lambda y: y)
        x = act(norm(conv(x))) if bn_first else norm(act(conv(x)))
        x = dropout(x, self.dropout, self.training and (drop_last or i < last))
    x = x.transpose(1, 2)  # (B, T_out, n_mels)
    return mel + x if residual else x


def _postnet_cases():
    return [
        Case("3 mels, lengths [10, 6, 3], padded to 10 with -4.1",
             {"mel": padded_features([10, 6, 3], 4, 60, pad=-4.1), "mel_lengths": torch.tensor([10, 6, 3])}),
        Case("2 mels of 7 frames, mel_lengths=None", {"mel": padded_features([7, 7], 4, 61), "mel_lengths": None}),
    ]


check_postnet = module_exercise(
    "Postnet", NB_POSTNET, Postnet,
    kwargs=dict(n_mels=4, postnet_dim=6, kernel_size=5, n_convs=3, dropout=0.5),
    cases=_postnet_cases,
    stages=[
        Stage("eval mode"),
        Stage("training mode, dropout 0", train=True, kwargs={"dropout": 0.0},
              hint="Training mode normalizes with the batch's own statistics: use nn.BatchNorm1d, not a formula."),
        Stage("training mode, dropout 0.5, same seed", train=True, hint="So look at the dropout after each layer. " + DROPOUT_FIX),
    ],
    variants=[
        variant("no residual: the correction returned alone", "Return mel + the correction: the postnet only learns what the decoder missed.",
                _postnet, residual=False),
        variant("tanh after the last convolution too", "The last layer is linear (no tanh), so the correction can take any value.",
                _postnet, tanh_last=True),
        variant("padded frames not zeroed before each convolution",
                "With mel_lengths given, multiply x by the (B, 1, T_out) mask before every convolution.", _postnet, mask=False),
        variant("BatchNorm after tanh", "Each layer is conv -> BatchNorm -> tanh -> dropout.", _postnet, bn_first=False),
        variant("no dropout after the last layer", "Tacotron 2 applies dropout after all five layers, the last included.",
                _postnet, drop_last=False),
    ],
    from_reference=lambda m: dict(
        n_mels=m.convs[0].in_channels, postnet_dim=m.convs[0].out_channels, kernel_size=m.convs[0].kernel_size[0],
        n_convs=len(m.convs), dropout=m.dropout,
    ),
    attributes={"dropout": float},
)
