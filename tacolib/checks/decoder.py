"""Module exercises for notebook 05: the prenet, the zoneout LSTM cell and one decoder step.

As in :mod:`tacolib.checks.boxes`, ``_prenet``, ``_zoneout`` and ``_decoder_step`` are
the boxes written once more with knobs, each :class:`~tacolib.checks.modules.Variant`
turning one knob to a learner's likely mistake.

The decoder exercise is a method: the learner subclasses ``tacolib.model.Decoder`` and
writes ``step``. Its other methods (``forward``'s teacher-forced loop, ``inference``)
are inherited, so the learner's step is what training runs, and the last stage of the
check runs exactly that: a teacher-forced pass of a few steps, gradients through time.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from tacolib.checks.boxes import DROPOUT_FIX, dropout_as, padded_features
from tacolib.checks.model import NB_DECODER
from tacolib.checks.modules import Case, Stage, module_exercise, variant
from tacolib.model import Decoder, Prenet, ZoneoutLSTMCell
from tacolib.masks import lengths_to_mask

__all__ = ["check_prenet", "check_zoneout_cell", "check_decoder"]

# ---- the prenet ---------------------------------------------------------------------------------------


def _prenet(self, x, eval_dropout="flag", relu_last=True, drop="tacolib"):
    active = {"flag": self.training or self.dropout_in_eval, "off": self.training, "on": True}[eval_dropout]
    for i, layer in enumerate(self.layers):
        x = layer(x)
        if relu_last or i < len(self.layers) - 1:
            x = F.relu(x)
        x = dropout_as(x, self.dropout, active, drop)
    return x


def _prenet_cases():
    g = torch.Generator().manual_seed(70)
    return [Case("a batch of 3 frames (3, 4)", {"x": torch.randn(3, 4, generator=g)}),
            Case("2 utterances x 3 steps (2, 3, 4)", {"x": torch.randn(2, 3, 4, generator=g)})]


def _no_eval_dropout(m):
    m.dropout_in_eval = False


check_prenet = module_exercise(
    "Prenet", NB_DECODER, Prenet,
    kwargs=dict(in_dim=4, sizes=[6, 5], dropout=0.5),
    cases=_prenet_cases,
    stages=[
        Stage("training mode, dropout 0", train=True, kwargs={"dropout": 0.0}),
        Stage("training mode, dropout 0.5, same seed", train=True, hint="So look at the dropout. " + DROPOUT_FIX),
        Stage("eval mode, dropout 0.5 (it stays on), same seed",
              hint="In eval mode the prenet's dropout stays on while self.dropout_in_eval is True."),
        Stage("eval mode with dropout_in_eval = False", setup=_no_eval_dropout,
              hint="With dropout_in_eval False, eval mode has no dropout (tacolib sets it for deterministic tests)."),
    ],
    variants=[
        variant("dropout switched off in eval mode", "Tacotron 2 keeps the prenet's dropout at inference: "
                "active = self.training or self.dropout_in_eval.", _prenet, eval_dropout="off"),
        variant("dropout on even with dropout_in_eval = False", "active = self.training or self.dropout_in_eval.",
                _prenet, eval_dropout="on"),
        variant("no ReLU after the last layer", "Both layers are Linear -> ReLU -> dropout.", _prenet, relu_last=False),
        variant("dropout drawn with F.dropout", DROPOUT_FIX, _prenet, drop="F"),
    ],
    from_reference=lambda m: dict(in_dim=m.layers[0].in_features, sizes=[layer.out_features for layer in m.layers], dropout=m.dropout),
    attributes={"dropout": float, "dropout_in_eval": bool},
)


# ---- the zoneout LSTM cell -------------------------------------------------------------------------------


def _zoneout(self, x, state, keep=None, output="new", invert=False, eval_rule="expectation", zone_c=True, same_mask=False):
    h, c = state
    h_new, c_new = nn.LSTMCell.forward(self, x, (h, c))
    p = self.zoneout
    if p == 0.0:
        return h_new, (h_new, c_new)
    if self.training:
        if keep is None:
            keep = torch.rand(2, *h_new.shape, device=h_new.device) < p
        kh, kc = keep[0], keep[0] if same_mask else keep[1]
        if invert:
            kh, kc = ~kh, ~kc
        h_next, c_next = torch.where(kh, h, h_new), torch.where(kc, c, c_new) if zone_c else c_new
    else:
        q = {"expectation": p, "swapped": 1.0 - p, "new": 0.0}[eval_rule]
        h_next, c_next = torch.lerp(h_new, h, q), torch.lerp(c_new, c, q) if zone_c else c_new
    return (h_next if output == "zoned" else h_new), (h_next, c_next)


def _cell_cases(with_keep=True):
    g = torch.Generator().manual_seed(80)
    inputs = {"x": torch.randn(4, 3, generator=g), "h": torch.randn(4, 5, generator=g), "c": torch.randn(4, 5, generator=g)}
    if with_keep:
        inputs["keep"] = torch.rand(2, 4, 5, generator=g) < 0.3
    return [Case("batch 4, hidden 5" + (", given keep masks (2, 4, 5)" if with_keep else ""), inputs)]


check_zoneout_cell = module_exercise(
    "ZoneoutLSTMCell", NB_DECODER, ZoneoutLSTMCell,
    kwargs=dict(input_size=3, hidden_size=5, zoneout=0.3),
    cases=_cell_cases,
    stages=[
        Stage("training mode, given keep masks", train=True, run=lambda m, x, h, c, keep: m(x, (h, c), keep)),
        Stage("eval mode (the expectation)", run=lambda m, x, h, c, keep: m(x, (h, c))),
        Stage("training mode, keep=None (drawn inside), same seed", train=True, cases=lambda: _cell_cases(False),
              run=lambda m, x, h, c: m(x, (h, c)),
              hint="With keep=None, draw the masks as tacolib does: keep = torch.rand(2, *h.shape) < self.zoneout."),
        Stage("sample_masks(steps=3, batch_size=4), same seed", cases=lambda: [Case("no inputs", {})],
              run=lambda m: m.sample_masks(3, 4),
              hint="sample_masks draws all masks at once: torch.rand(steps, 2, batch_size, hidden_size) < self.zoneout."),
    ],
    variants=[
        variant("zoneout applied to the output", "The output at this step is the plain new h (what the next layer sees); "
                "only the state (h, c) carried to the next step is zoned out.", _zoneout, output="zoned"),
        variant("the keep mask inverted", "keep True means: keep the previous value (torch.where(keep, previous, new)).",
                _zoneout, invert=True),
        variant("no zoneout in eval mode (the new state carried)",
                "In eval mode carry the expectation p * previous + (1 - p) * new.", _zoneout, eval_rule="new"),
        variant("p and 1 - p swapped in eval mode", "The previous value is kept with probability p: p * previous + (1 - p) * new.",
                _zoneout, eval_rule="swapped"),
        variant("c not zoned out", "Zone out the cell state too, with keep[1].", _zoneout, zone_c=False),
        variant("one mask for both h and c", "keep[0] is h's mask, keep[1] is c's.", _zoneout, same_mask=True),
    ],
    from_reference=lambda m: dict(input_size=m.input_size, hidden_size=m.hidden_size, zoneout=m.zoneout),
    attributes={"zoneout": float},
)


# ---- one decoder step -------------------------------------------------------------------------------------

_DEC = dict(n_mels=3, r=2, encoder_dim=4, prenet_dim=5, attention_rnn_dim=6, decoder_rnn_dim=7, attention_dim=4,
            attention_n_filters=2, attention_kernel_size=3, prenet_dropout=0.5, zoneout=0.3)


def _decoder_step(self, prenet_out, state, memory, processed_memory, mask, zoneout_masks=None, project=True,
                  pass_masks=True, update_cum=True, swap=False, new_context=True, carry="state"):
    keep_att, keep_dec = zoneout_masks if zoneout_masks is not None and pass_masks else (None, None)
    x = torch.cat([prenet_out, state["context"]], dim=-1)
    s, (h_att, c_att) = self.attention_rnn(x, (state["h_att"], state["c_att"]), keep_att)
    first, second = (state["cum_weights"], state["weights"]) if swap else (state["weights"], state["cum_weights"])
    context, weights = self.attention(s, memory, processed_memory, torch.stack([first, second], dim=1), mask)
    ctx = context if new_context else state["context"]
    d, (h_dec, c_dec) = self.decoder_rnn(torch.cat([s, ctx], dim=-1), (state["h_dec"], state["c_dec"]), keep_dec)
    y = torch.cat([d, ctx], dim=-1)
    frames, gate = (self.mel_proj(y), self.gate(y)) if project else (None, None)
    if carry == "output":
        h_att, h_dec = s, d
    cum = state["cum_weights"] + weights if update_cum else state["cum_weights"]
    new = {"h_att": h_att, "c_att": c_att, "h_dec": h_dec, "c_dec": c_dec, "weights": weights, "cum_weights": cum,
           "context": context, "out": y}
    return frames, gate, weights, new


def _step_case(desc, lengths, seed, masked):
    g = torch.Generator().manual_seed(seed)
    B, T_in = len(lengths), max(lengths)
    rows = lengths_to_mask(torch.tensor(lengths), T_in)
    prev = torch.softmax(torch.randn(B, T_in, generator=g).masked_fill(~rows, float("-inf")), 1)
    state = {
        "h_att": 0.5 * torch.randn(B, 6, generator=g), "c_att": 0.5 * torch.randn(B, 6, generator=g),
        "h_dec": 0.5 * torch.randn(B, 7, generator=g), "c_dec": 0.5 * torch.randn(B, 7, generator=g),
        "weights": prev, "cum_weights": 2 * prev, "context": torch.randn(B, 4, generator=g),
    }
    return Case(desc, dict(
        prenet_out=torch.relu(torch.randn(B, 5, generator=g)), state=state,
        memory=padded_features(lengths, 4, seed + 1), processed_memory=torch.randn(B, T_in, 4, generator=g),
        mask=rows if masked else None,
        zoneout_masks=(torch.rand(2, B, 6, generator=g) < 0.3, torch.rand(2, B, 7, generator=g) < 0.3),
    ))


def _step_cases():
    return [_step_case("3 utterances, text lengths [5, 3, 1], padded to 5", [5, 3, 1], 90, True),
            _step_case("2 utterances of length 4, mask=None", [4, 4], 91, False)]


def _forward_cases():
    return [Case("3 utterances, text lengths [5, 3, 2], 4 steps of r = 2 frames", dict(
        memory=padded_features([5, 3, 2], 4, 95), text_lengths=torch.tensor([5, 3, 2]), mel=padded_features([8, 8, 8], 3, 96)))]


check_decoder = module_exercise(
    "Decoder", NB_DECODER, Decoder,
    kwargs=_DEC,
    cases=_step_cases,
    stages=[
        Stage("one step, training mode, given zoneout masks", train=True, run=lambda m, **kw: m.step(**kw)),
        Stage("one step, eval mode (zoneout's expectation)", run=lambda m, **kw: m.step(**kw)),
        Stage("one step, project=False", train=True, run=lambda m, **kw: m.step(**kw, project=False),
              hint="With project=False, return None for the frames and the stop logits (the new state still holds 'out')."),
        Stage("teacher-forced forward over 4 steps, training mode, same seed", train=True, cases=_forward_cases,
              hint="forward draws all zoneout masks up front and hands each step its own: pass them to the cells."),
    ],
    variants=[
        variant("the zoneout masks not passed to the LSTM cells",
                "Call self.attention_rnn(x, (h, c), keep_att) and self.decoder_rnn(..., keep_dec) with this step's masks.",
                _decoder_step, method="step", pass_masks=False),
        variant("the cumulative weights not updated", "The new state's cum_weights are the old ones plus this step's weights.",
                _decoder_step, method="step", update_cum=False),
        variant("[cumulative; previous] stacked in the wrong order", "weights_cat = torch.stack([weights, cum_weights], dim=1).",
                _decoder_step, method="step", swap=True),
        variant("the previous context fed to the decoder LSTM and the projections",
                "After the attention, use this step's context c_i.", _decoder_step, method="step", new_context=False),
        variant("the cells' outputs carried as h instead of their zoned-out states",
                "A ZoneoutLSTMCell returns (output, (h_next, c_next)): carry h_next and c_next.",
                _decoder_step, method="step", carry="output"),
    ],
    from_reference=lambda m: dict(
        n_mels=m.n_mels, r=m.r, encoder_dim=m.encoder_dim, prenet_dim=m.prenet.layers[-1].out_features,
        attention_rnn_dim=m.attention_rnn_dim, decoder_rnn_dim=m.decoder_rnn_dim,
        attention_dim=m.attention.query_layer.out_features, attention_n_filters=m.attention.location_layer.conv.out_channels,
        attention_kernel_size=m.attention.location_layer.conv.kernel_size[0], prenet_dropout=m.prenet.dropout,
        zoneout=m.attention_rnn.zoneout, learn_initial_states=m.learn_initial_states, gate_threshold=m.gate_threshold,
        max_decoder_steps=m.max_decoder_steps,
    ),
)
