"""The decoder: an autoregressive loop that writes the mel spectrogram r frames at a time.

One decoder step (shapes for batch B; d_pre prenet, d_att / d_dec LSTM widths,
d_enc encoder width, r frames per step):

    previous frame (B, n_mels) ─► Prenet ─► (B, d_pre) ─┐
                               context c_{i-1} (B, d_enc) ┴► cat ─► attention LSTM (zoneout) ─► s_i (B, d_att)
    s_i, memory, [alpha_{i-1}; cumulative] ─► LocationSensitiveAttention ─► c_i (B, d_enc), alpha_i (B, T_in)
    cat(s_i, c_i) ─► decoder LSTM (zoneout) ─► d_i (B, d_dec)
    cat(d_i, c_i) ─► Linear ─► r frames (B, r, n_mels)
                  └► Linear ─► r stop logits (B, r)

Training uses teacher forcing: the "previous frame" is the *true* last frame of the
previous group of r, so all prenet inputs are known up front. Inference feeds back
its own prediction and stops when the stop-token probability passes a threshold, or
when it reaches the step limit (``stop_reason`` says which).

Inference may also constrain the attention to a window (``attention_window = w``, off
by default): each step may only look at symbols within ``w`` of the furthest place
the attention has reached (its running argmax, which never moves back), so it can
neither jump ahead and skip words nor wander back and repeat them (notebook 12)::

    symbols:      0 1 2 ... c-w ... c ... c+w ... T_in-1
    allowed:              [ ------------------ ]          c = max over past steps of argmax(alpha)
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from tacolib.config import Config
from tacolib.masks import decoder_lengths, lengths_to_mask
from tacolib.model.attention import LocationSensitiveAttention
from tacolib.model.layers import linear
from tacolib.model.prenet import Prenet
from tacolib.model.recurrence import recurrence_blocker, teacher_forced
from tacolib.model.zoneout import ZoneoutLSTMCell


class Decoder(nn.Module):
    """Tacotron 2's autoregressive decoder with location-sensitive attention.

    Parameters
    ----------
    n_mels : int
        Mel channels per frame.
    r : int
        Frames predicted per decoder step (reduction factor, >= 1).
    encoder_dim : int
        Width of the encoder memory ``d_enc``.
    prenet_dim : int
        Width of both prenet layers.
    attention_rnn_dim, decoder_rnn_dim : int
        Widths of the attention LSTM and the decoder LSTM (paper: 1024 each).
    attention_dim, attention_n_filters, attention_kernel_size : int
        See :class:`LocationSensitiveAttention`.
    prenet_dropout, zoneout : float
        0.5 (always on) and 0.1.
    learn_initial_states : bool
        Learn the LSTMs' initial ``(h, c)`` as parameters (the seed's suggestion)
        instead of starting from zeros.
    gate_threshold : float
        Stop when ``sigmoid(gate_logit)`` exceeds this at inference.
    max_decoder_steps : int
        Inference gives up after this many decoder steps (``stop_reason = "max_steps"``).
    fast_teacher_forcing : bool
        :meth:`forward` runs :func:`tacolib.model.recurrence.teacher_forced` (same
        numbers; batched precompute and a hand-written backward make forward +
        backward 2-3x faster, ``benchmarks/train_step.py``) instead of the readable
        loop over :meth:`step`. Settable later.
    """

    def __init__(
        self,
        n_mels: int = 80,
        r: int = 1,
        encoder_dim: int = 512,
        prenet_dim: int = 256,
        attention_rnn_dim: int = 1024,
        decoder_rnn_dim: int = 1024,
        attention_dim: int = 128,
        attention_n_filters: int = 32,
        attention_kernel_size: int = 31,
        prenet_dropout: float = 0.5,
        zoneout: float = 0.1,
        learn_initial_states: bool = False,
        gate_threshold: float = 0.5,
        max_decoder_steps: int = 1000,
        fast_teacher_forcing: bool = True,
    ):
        super().__init__()
        if r < 1:
            raise ValueError(f"Decoder: r (frames per step) must be >= 1, got {r}")
        self.n_mels, self.r, self.encoder_dim = n_mels, r, encoder_dim
        self.attention_rnn_dim, self.decoder_rnn_dim = attention_rnn_dim, decoder_rnn_dim
        self.gate_threshold, self.max_decoder_steps = gate_threshold, max_decoder_steps
        self.fast_teacher_forcing = fast_teacher_forcing
        self.prenet = Prenet(n_mels, [prenet_dim, prenet_dim], prenet_dropout)
        self.attention_rnn = ZoneoutLSTMCell(prenet_dim + encoder_dim, attention_rnn_dim, zoneout)
        self.attention = LocationSensitiveAttention(attention_rnn_dim, encoder_dim, attention_dim, attention_n_filters, attention_kernel_size)
        self.decoder_rnn = ZoneoutLSTMCell(attention_rnn_dim + encoder_dim, decoder_rnn_dim, zoneout)
        self.mel_proj = linear(decoder_rnn_dim + encoder_dim, n_mels * r)
        self.gate = linear(decoder_rnn_dim + encoder_dim, r, nonlinearity="sigmoid")
        self.learn_initial_states = learn_initial_states
        if learn_initial_states:
            self.h0_att = nn.Parameter(torch.zeros(attention_rnn_dim))
            self.c0_att = nn.Parameter(torch.zeros(attention_rnn_dim))
            self.h0_dec = nn.Parameter(torch.zeros(decoder_rnn_dim))
            self.c0_dec = nn.Parameter(torch.zeros(decoder_rnn_dim))

    @classmethod
    def from_config(cls, cfg: Config) -> "Decoder":
        m = cfg.model
        return cls(
            n_mels=cfg.audio.n_mels, r=m.r, encoder_dim=m.encoder_embedding_dim, prenet_dim=m.prenet_dim,
            attention_rnn_dim=m.attention_rnn_dim, decoder_rnn_dim=m.decoder_rnn_dim, attention_dim=m.attention_dim,
            attention_n_filters=m.attention_location_n_filters, attention_kernel_size=m.attention_location_kernel_size,
            prenet_dropout=m.prenet_dropout, zoneout=m.zoneout, learn_initial_states=m.learn_initial_states,
            gate_threshold=m.gate_threshold, max_decoder_steps=m.max_decoder_steps, fast_teacher_forcing=m.fast_paths,
        )

    # ---- state ---------------------------------------------------------------------
    def initial_state(self, memory: torch.Tensor) -> dict[str, torch.Tensor]:
        """Zero (or learned) LSTM states, zero attention weights and context.

        ``memory`` ``(B, T_in, d_enc)`` gives batch size, length, dtype and device.
        """
        B, T_in, _ = memory.shape
        z = memory.new_zeros
        if self.learn_initial_states:
            h_att, c_att = self.h0_att.expand(B, -1), self.c0_att.expand(B, -1)
            h_dec, c_dec = self.h0_dec.expand(B, -1), self.c0_dec.expand(B, -1)
        else:
            h_att, c_att = z(B, self.attention_rnn_dim), z(B, self.attention_rnn_dim)
            h_dec, c_dec = z(B, self.decoder_rnn_dim), z(B, self.decoder_rnn_dim)
        return {
            "h_att": h_att, "c_att": c_att, "h_dec": h_dec, "c_dec": c_dec,
            "weights": z(B, T_in), "cum_weights": z(B, T_in), "context": z(B, self.encoder_dim),
        }

    def go_frame(self, memory: torch.Tensor) -> torch.Tensor:
        """The all-zero frame ``(B, n_mels)`` that starts the loop."""
        return memory.new_zeros(memory.shape[0], self.n_mels)

    def step(
        self,
        prenet_out: torch.Tensor,
        state: dict,
        memory: torch.Tensor,
        processed_memory: torch.Tensor,
        mask: torch.Tensor | None,
        zoneout_masks: tuple[torch.Tensor, torch.Tensor] | None = None,
        project: bool = True,
    ):
        """One decoder step (the readable version; :meth:`inference` runs a faster copy).

        Parameters
        ----------
        prenet_out : torch.Tensor
            ``(B, d_pre)`` prenet output for the previous frame.
        state : dict
            From :meth:`initial_state` or the previous step; a new dict is returned.
        memory, processed_memory : torch.Tensor
            ``(B, T_in, d_enc)`` and ``(B, T_in, attention_dim)``.
        mask : torch.Tensor or None
            ``(B, T_in)`` bool, True on real encoder positions.
        zoneout_masks : tuple of torch.Tensor, optional
            This step's masks for the attention and decoder LSTMs (training).
        project : bool
            False skips the mel/stop projections (training does them for all steps at once).

        Returns
        -------
        frames : torch.Tensor or None
            ``(B, r * n_mels)``.
        gate_logits : torch.Tensor or None
            ``(B, r)``.
        weights : torch.Tensor
            ``(B, T_in)`` attention weights of this step.
        state : dict
            Also holds ``"out"``, the ``(B, d_dec + d_enc)`` input of the projections.
        """
        keep_att, keep_dec = zoneout_masks if zoneout_masks is not None else (None, None)
        x = torch.cat([prenet_out, state["context"]], dim=-1)  # (B, d_pre + d_enc)
        s, (h_att, c_att) = self.attention_rnn(x, (state["h_att"], state["c_att"]), keep_att)  # (B, d_att)
        weights_cat = torch.stack([state["weights"], state["cum_weights"]], dim=1)  # (B, 2, T_in)
        context, weights = self.attention(s, memory, processed_memory, weights_cat, mask)  # (B, d_enc), (B, T_in)
        x = torch.cat([s, context], dim=-1)  # (B, d_att + d_enc)
        d, (h_dec, c_dec) = self.decoder_rnn(x, (state["h_dec"], state["c_dec"]), keep_dec)  # (B, d_dec)
        y = torch.cat([d, context], dim=-1)  # (B, d_dec + d_enc)
        frames, gate = (self.mel_proj(y), self.gate(y)) if project else (None, None)  # (B, r * n_mels), (B, r)
        state = {
            "h_att": h_att, "c_att": c_att, "h_dec": h_dec, "c_dec": c_dec,
            "weights": weights, "cum_weights": state["cum_weights"] + weights, "context": context, "out": y,
        }
        return frames, gate, weights, state

    # ---- training --------------------------------------------------------------------
    def fast_path_blocker(self) -> str | None:
        """Why :meth:`forward` must run the readable loop instead of its fast twin, or None.

        The fast twin computes tacolib's own step, so it stands in only for it: a
        subclass with its own :meth:`step` (a learner's decoder) or a sub-module that is
        not tacolib's class (a learner's box swapped in) runs the readable loop, which
        calls them at every step. :func:`tacolib.model.recurrence.recurrence_blocker`
        adds what the twin itself needs (shared zoneout rate and train/eval mode).
        """
        if type(self).step is not Decoder.step:
            return f"{type(self).__qualname__}.step is not tacolib's Decoder.step (the readable loop calls it)"
        boxes = (("prenet", Prenet), ("attention", LocationSensitiveAttention), ("attention_rnn", ZoneoutLSTMCell),
                 ("decoder_rnn", ZoneoutLSTMCell))
        for name, cls in boxes:
            if type(getattr(self, name)) is not cls:
                return f"decoder.{name} is a {type(getattr(self, name)).__qualname__}, not tacolib's {cls.__name__} (the readable loop calls it)"
        return recurrence_blocker(self)

    def teacher_forcing_setup(self, memory: torch.Tensor, text_lengths: torch.Tensor, mel: torch.Tensor) -> dict:
        """What teacher forcing prepares before the step loop, random masks included.

        The readable loop and its fast twin both start here, so they draw prenet
        dropout and zoneout masks by the same calls in the same order.

        Returns
        -------
        dict
            ``prenet_out`` ``(B, T_dec, d_pre)``, ``processed_memory`` ``(B, T_in, A)``,
            ``mask`` ``(B, T_in)`` bool, ``state`` (:meth:`initial_state`), and the
            zoneout masks ``keep_att`` ``(T_dec, 2, B, d_att)`` and ``keep_dec``
            ``(T_dec, 2, B, d_dec)`` (None outside training or without zoneout).
        """
        B, T_out, n_mels = mel.shape
        T_dec = T_out // self.r
        # previous frame of each step: go frame, then the last frame of each group of r
        last = mel.view(B, T_dec, self.r, n_mels)[:, :-1, -1]  # (B, T_dec - 1, n_mels)
        inputs = torch.cat([self.go_frame(memory).unsqueeze(1), last], dim=1)  # (B, T_dec, n_mels)
        setup = {
            "prenet_out": self.prenet(inputs),  # (B, T_dec, d_pre): all steps in one go
            "processed_memory": self.attention.process_memory(memory),  # (B, T_in, A), once
            "mask": lengths_to_mask(text_lengths, memory.shape[1]),  # (B, T_in)
            "state": self.initial_state(memory),
            "keep_att": None,
            "keep_dec": None,
        }
        if self.training and self.attention_rnn.zoneout > 0:  # all zoneout masks in one draw
            setup["keep_att"] = self.attention_rnn.sample_masks(T_dec, B, memory.device)  # (T_dec, 2, B, d_att)
            setup["keep_dec"] = self.decoder_rnn.sample_masks(T_dec, B, memory.device)  # (T_dec, 2, B, d_dec)
        return setup

    def forward(self, memory: torch.Tensor, text_lengths: torch.Tensor, mel: torch.Tensor) -> dict[str, torch.Tensor]:
        """Teacher-forced decoding of a whole batch.

        With ``fast_teacher_forcing`` (the default) this runs the fast twin,
        :func:`tacolib.model.recurrence.teacher_forced`; the loop below is the readable
        reference it is tested against (``fast_teacher_forcing = False`` runs it).

        Parameters
        ----------
        memory : torch.Tensor
            ``(B, T_in, d_enc)`` encoder outputs.
        text_lengths : torch.Tensor
            ``(B,)`` long.
        mel : torch.Tensor
            ``(B, T_out, n_mels)`` target mels, ``T_out`` a multiple of ``r``.

        Returns
        -------
        dict
            ``mel`` ``(B, T_out, n_mels)``, ``gate_logits`` ``(B, T_out)``,
            ``alignments`` ``(B, T_dec, T_in)`` with ``T_dec = T_out / r``.
        """
        B, T_out, n_mels = mel.shape
        if n_mels != self.n_mels:
            raise ValueError(f"Decoder: mel has {n_mels} channels, the model expects n_mels={self.n_mels}")
        if T_out % self.r:
            raise ValueError(f"Decoder: T_out={T_out} is not a multiple of r={self.r}; pad the batch (tacolib.batching.collate does)")
        setup = self.teacher_forcing_setup(memory, text_lengths, mel)
        if self.fast_teacher_forcing and self.fast_path_blocker() is None:
            return teacher_forced(self, memory, setup)
        prenet_out, processed_memory, mask, state = setup["prenet_out"], setup["processed_memory"], setup["mask"], setup["state"]
        keep_att, keep_dec = setup["keep_att"], setup["keep_dec"]
        outs, aligns = [], []
        for t in range(T_out // self.r):
            masks = (keep_att[t], keep_dec[t]) if keep_att is not None else None
            _, _, w, state = self.step(prenet_out[:, t], state, memory, processed_memory, mask, masks, project=False)
            outs.append(state["out"])
            aligns.append(w)
        # teacher forcing: the projections feed nothing back, so do all steps in one matmul
        y = torch.stack(outs, dim=1)  # (B, T_dec, d_dec + d_enc)
        return {
            "mel": self.mel_proj(y).view(B, T_out, n_mels),  # (B, T_out, n_mels)
            "gate_logits": self.gate(y).view(B, T_out),  # (B, T_out)
            "alignments": torch.stack(aligns, dim=1),  # (B, T_dec, T_in)
        }

    # ---- inference -------------------------------------------------------------------
    @torch.inference_mode()
    def inference(
        self,
        memory: torch.Tensor,
        text_lengths: torch.Tensor,
        max_decoder_steps: int | None = None,
        gate_threshold: float | None = None,
        stop_on_gate: bool = True,
        pad_value: float = 0.0,
        attention_window: int = 0,
    ) -> dict:
        """Free-running decoding: each step reads its own previous output.

        Parameters
        ----------
        memory : torch.Tensor
            ``(B, T_in, d_enc)``.
        text_lengths : torch.Tensor
            ``(B,)`` long.
        max_decoder_steps : int, optional
            Step limit, >= 1 (None: the config's; 0 raises, it never means "default").
        gate_threshold : float, optional
            Stop probability threshold (default: the config's).
        stop_on_gate : bool
            False runs exactly ``max_decoder_steps`` steps (benchmarks).
        pad_value : float
            Written into frames after an utterance stopped.
        attention_window : int
            0 (default): the attention is free, as in training. ``w > 0``: each step
            attends only to symbols within ``w`` of the furthest argmax so far (see
            the module docstring), a monotonic constraint for long inputs.

        Returns
        -------
        dict
            ``mel`` ``(B, T_out, n_mels)``, ``gate_logits`` ``(B, T_out)``,
            ``alignments`` ``(B, T_dec, T_in)``, ``lengths`` ``(B,)`` frames,
            ``stop_reason`` list of ``"gate"`` / ``"max_steps"``.

        Notes
        -----
        Everything that does not change between steps is prepared once: the memory
        projection, the fused location convolution, one weight matrix for mel and
        stop projections, and all prenet dropout masks. The per-step work is the two
        LSTM cells, a handful of small ops, and no Python-side allocation except
        the step's outputs.
        """
        steps = int(self.max_decoder_steps if max_decoder_steps is None else max_decoder_steps)  # 0 is an error, not "default"
        threshold = self.gate_threshold if gate_threshold is None else gate_threshold
        if steps < 1:
            raise ValueError(f"Decoder.inference: max_decoder_steps must be >= 1, got {steps}")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"Decoder.inference: gate_threshold must be in (0, 1), got {threshold}")
        if attention_window < 0:
            raise ValueError(f"Decoder.inference: attention_window must be >= 0 (0: off), got {attention_window}")
        logit_threshold = math.log(threshold / (1.0 - threshold))  # sigmoid(x) > t  <=>  x > logit(t)
        B, T_in, _ = memory.shape
        r, n_mels = self.r, self.n_mels
        mask = None if bool((text_lengths == T_in).all()) else lengths_to_mask(text_lengths, T_in)

        # ---- step-independent work, done once ----
        att = self.attention
        pm = att.process_memory(memory).transpose(1, 2).contiguous()  # (B, A, T_in)
        loc_w = att.location_layer.fused_weight()  # (A, 2, k)
        loc_pad = (loc_w.shape[-1] - 1) // 2
        w_query = att.query_layer.weight  # (A, d_att)
        v = att.v.weight  # (1, A)
        w_out = torch.cat([self.mel_proj.weight, self.gate.weight], 0)  # (r * n_mels + r, d_dec + d_enc)
        b_out = torch.cat([self.mel_proj.bias, self.gate.bias], 0)
        pre1, pre2 = (layer.weight.t() for layer in self.prenet.layers)  # (n_mels, d_pre), (d_pre, d_pre)
        p = self.prenet.dropout
        use_dropout = (self.prenet.training or self.prenet.dropout_in_eval) and p > 0
        if use_dropout:  # all prenet dropout masks for the whole run, scaled by 1/(1-p)
            keep = 1.0 - p
            masks1 = torch.empty(steps, B, pre1.shape[1], device=memory.device, dtype=memory.dtype).bernoulli_(keep).div_(keep)
            masks2 = torch.empty(steps, B, pre2.shape[1], device=memory.device, dtype=memory.dtype).bernoulli_(keep).div_(keep)
        att_rnn, dec_rnn = self.attention_rnn, self.decoder_rnn

        state = self.initial_state(memory)
        h_att, c_att, h_dec, c_dec = state["h_att"], state["c_att"], state["h_dec"], state["c_dec"]
        weights_cat = memory.new_zeros(B, 2, T_in)  # [previous; cumulative]
        context = state["context"]
        frame = self.go_frame(memory)  # (B, n_mels)
        out = memory.new_empty(steps, B, r * n_mels + r)  # frames and gate logits of every step
        aligns = memory.new_zeros(steps, B, T_in)
        lengths = torch.zeros(B, dtype=torch.long)
        done = torch.zeros(B, dtype=torch.bool)
        stop_reason = ["max_steps"] * B
        if attention_window:
            positions = torch.arange(T_in, device=memory.device)  # (T_in,)
            furthest = torch.zeros(B, dtype=torch.long, device=memory.device)  # (B,) the window's centre
        n = 0
        for t in range(steps):
            # prenet (dropout stays on)
            x = torch.relu(frame @ pre1)
            if use_dropout:
                x = x * masks1[t]
            x = torch.relu(x @ pre2)
            if use_dropout:
                x = x * masks2[t]
            # attention LSTM
            s, (h_att, c_att) = att_rnn(torch.cat([x, context], 1), (h_att, c_att))  # (B, d_att)
            # location-sensitive attention, in (B, A, T_in) layout
            e = F.conv1d(weights_cat, loc_w, padding=loc_pad)  # (B, A, T_in): U f
            e = torch.tanh(e.add_(pm).add_((s @ w_query.t()).unsqueeze(2)))  # + V h + b + W s
            e = torch.matmul(v, e).squeeze(1)  # (B, T_in)
            if mask is not None:
                e = e.masked_fill(~mask, float("-inf"))
            if attention_window:  # only symbols within the window around the furthest point reached
                outside = (positions[None, :] - furthest[:, None]).abs() > attention_window  # (B, T_in)
                e = e.masked_fill(outside, float("-inf"))
            w = torch.softmax(e, dim=1)  # (B, T_in)
            if attention_window:
                furthest = torch.maximum(furthest, w.argmax(1))
            context = torch.bmm(w.unsqueeze(1), memory).squeeze(1)  # (B, d_enc)
            weights_cat[:, 0] = w
            weights_cat[:, 1] += w
            aligns[t] = w
            # decoder LSTM and projections
            d, (h_dec, c_dec) = dec_rnn(torch.cat([s, context], 1), (h_dec, c_dec))  # (B, d_dec)
            y = torch.addmm(b_out, torch.cat([d, context], 1), w_out.t())  # (B, r*n_mels + r)
            out[t] = y
            frame = y[:, (r - 1) * n_mels : r * n_mels]  # last frame of the group feeds the prenet
            n = t + 1
            if stop_on_gate:
                over = y[:, r * n_mels :] > logit_threshold  # (B, r)
                if bool(over.any()):
                    over = over.cpu()
                    first = over.float().argmax(1)  # first frame over the threshold in this step
                    newly = over.any(1) & ~done
                    for b in newly.nonzero().flatten().tolist():
                        lengths[b] = t * r + int(first[b]) + 1
                        stop_reason[b] = "gate"
                    done |= newly
                    if bool(done.all()):
                        break
        lengths[~done] = n * r
        out = out[:n].transpose(0, 1)  # (B, n, r*n_mels + r)
        mel = out[..., : r * n_mels].reshape(B, n * r, n_mels)  # (B, T_out, n_mels)
        gate_logits = out[..., r * n_mels :].reshape(B, n * r)  # (B, T_out)
        alignments = aligns[:n].transpose(0, 1).contiguous()  # (B, T_dec, T_in)
        frame_mask = lengths_to_mask(lengths.to(mel.device), n * r)  # (B, T_out)
        mel = mel.masked_fill(~frame_mask.unsqueeze(-1), pad_value)
        step_lengths = decoder_lengths(lengths, r)
        alignments = alignments.masked_fill(~lengths_to_mask(step_lengths.to(mel.device), n).unsqueeze(-1), 0.0)
        return {"mel": mel, "gate_logits": gate_logits, "alignments": alignments, "lengths": lengths.to(mel.device), "stop_reason": stop_reason}
