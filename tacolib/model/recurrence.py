"""The decoder's teacher-forced loop, fast: batched where it can be, a lean recurrence, a hand-written backward.

Under teacher forcing most of the decoder's work does not depend on the previous
step. :func:`teacher_forced` does that work once, batched over all ``T`` steps, and
keeps only the true recurrence in a per-step loop (:class:`DecoderRecurrence`):

    batched, before the loop (autograd as usual):
        prenet over all T input frames                          (T, B, d_pre)
        xa  = prenet_out W_ih^a[:, :d_pre]^T + b_ih^a + b_hh^a  (T, B, 4 d_att)   attention-LSTM gates, prenet part
        V h + b                                                 (B, T_in, A)      memory projection
        U F fused into one convolution weight                   (A, 2, k)         location layer
    per step t (DecoderRecurrence), the recurrence only:
        gates^a = xa_t + [c_{t-1}, h^a_{t-1}] W_a^T             one gemm   ─► zoneout LSTM math ─► s_t
        e_t     = v^T tanh(V h + b + W s_t + U F * [alpha_{t-1}; cum_{t-1}])   (B, T_in), masked
        alpha_t = softmax(e_t);   c_t = alpha_t memory;   cum_t = cum_{t-1} + alpha_t
        gates^d = [s_t, c_t, h^d_{t-1}] W_d^T + b_d             one gemm   ─► zoneout LSTM math ─► d_t
    batched, after the loop (autograd as usual):
        cat(d_t, c_t) ─► mel and stop projections of all steps in one matmul each

The backward runs the same loop in reverse and computes only what flows back in
time: the gate gradients of both LSTMs, the attention's energy gradients, and the
state gradients. Each LSTM's weight gradient is then one large matmul over all
``T * B`` rows, instead of ``T`` small products accumulated step by step as autograd
does for the readable loop. On CPU the products run on oneDNN
(:mod:`tacolib.model.onednn`), with each recurrent weight packed once per pass.

Same numbers as :meth:`tacolib.model.decoder.Decoder.forward`'s readable loop: the
same random masks (prenet dropout and zoneout drawn by the same calls in the same
order), the same math, only different floating-point rounding (the order of
additions, and tanh written through sigmoid: see :class:`DecoderRecurrence`'s notes;
tests/test_fast_paths.py checks outputs and every gradient, in float64 to 1e-9 and
in float32). Under autocast the recurrence runs in float32.

Measured (``benchmarks/train_step.py``, 2-core CPU, ``tiny`` preset, batch 16, 60
decoder steps): the decoder's forward + backward takes well under half the readable
loop's time. The rest of the per-step cost is eager PyTorch's per-operation overhead
(the profiler counts ~19,900 op calls in one training step, views included, most of
them in these two loops) and small products (16 rows) that two threads barely
share; ``torch.compile`` of the step's pieces did not reduce it (see the benchmark's
docstring).
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from tacolib.model.onednn import PackedLinear, linear, matmul_tn


def recurrence_blocker(decoder) -> str | None:
    """Why :func:`teacher_forced` cannot stand in for the readable loop, or None when it can.

    The fast path draws the zoneout masks exactly as the readable loop does, which
    needs both LSTMs to share the decoder's train/eval mode and zoneout rate
    (:meth:`tacolib.model.decoder.Decoder.fast_path_blocker` also checks that the
    decoder's step and boxes are tacolib's own).
    """
    att, dec = decoder.attention_rnn, decoder.decoder_rnn
    if att.zoneout != dec.zoneout:
        return f"the two decoder LSTMs have different zoneout ({att.zoneout} vs {dec.zoneout})"
    if not (att.training == dec.training == decoder.training):
        return "the decoder LSTMs are not in the decoder's train/eval mode"
    if att.bias_ih is None or dec.bias_ih is None:
        return "a decoder LSTM has no bias"
    return None


def teacher_forced(decoder, memory: torch.Tensor, setup: dict) -> dict[str, torch.Tensor]:
    """Teacher-forced decoding of a batch: the fast twin of ``Decoder.forward``'s readable loop.

    Parameters
    ----------
    decoder : tacolib.model.decoder.Decoder
        Its parameters and train/eval mode are used as they are.
    memory : torch.Tensor
        ``(B, T_in, d_enc)`` encoder outputs.
    setup : dict
        From ``decoder.teacher_forcing_setup(memory, text_lengths, mel)``: prenet
        output, memory projection, mask, initial state and zoneout masks, drawn
        exactly as for the readable loop.

    Returns
    -------
    dict
        ``mel`` ``(B, T_out, n_mels)``, ``gate_logits`` ``(B, T_out)``,
        ``alignments`` ``(B, T, T_in)`` with ``T = T_out / r``.
    """
    prenet_out, mask, state = setup["prenet_out"], setup["mask"], setup["state"]  # (B, T, d_pre), (B, T_in), dict
    B, T, _ = prenet_out.shape
    n_mels = decoder.n_mels
    T_out = T * decoder.r
    att, att_rnn, dec_rnn = decoder.attention, decoder.attention_rnn, decoder.decoder_rnn
    p = 0.0 if decoder.training else att_rnn.zoneout  # eval: the expectation (lerp by p)

    # ---- batched, step-independent work ----
    d_pre = prenet_out.shape[-1]
    xa = linear(prenet_out.transpose(0, 1), att_rnn.weight_ih[:, :d_pre], att_rnn.bias_ih + att_rnn.bias_hh)  # (T, B, 4 d_att)
    w_a = torch.cat([att_rnn.weight_ih[:, d_pre:], att_rnn.weight_hh], 1)  # (4 d_att, d_enc + d_att)
    w_d = torch.cat([dec_rnn.weight_ih, dec_rnn.weight_hh], 1)  # (4 d_dec, d_att + d_enc + d_dec)
    b_d = dec_rnn.bias_ih + dec_rnn.bias_hh  # (4 d_dec,)
    w_loc = att.location_layer.fused_weight()  # (A, 2, k)
    pad = None if bool(mask.all()) else ~mask  # (B, T_in) True where padded
    tensors = (xa, memory, setup["processed_memory"], w_a, att.query_layer.weight, w_loc, att.v.weight.view(-1), w_d, b_d,
               state["h_att"], state["c_att"], state["h_dec"], state["c_dec"])
    device_type = memory.device.type
    amp = torch.is_autocast_enabled(device_type)
    with torch.autocast(device_type=device_type, enabled=False):
        if amp:  # the recurrence runs in float32 under autocast
            tensors = tuple(x.float() for x in tensors)
        d, context, alignments = DecoderRecurrence.apply(*tensors, pad, setup["keep_att"], setup["keep_dec"], p)  # (T, B, ...)

    # ---- batched projections of all steps ----
    y = torch.cat([d, context], dim=-1).transpose(0, 1).contiguous()  # (B, T, d_dec + d_enc)
    return {
        "mel": linear(y, decoder.mel_proj.weight, decoder.mel_proj.bias).view(B, T_out, n_mels),  # (B, T_out, n_mels)
        "gate_logits": linear(y, decoder.gate.weight, decoder.gate.bias).view(B, T_out),  # (B, T_out)
        "alignments": alignments.transpose(0, 1).contiguous(),  # (B, T, T_in)
    }


# ---- the LSTM cell's pointwise math, forward and backward -------------------------------


def _cell_forward(gates, h_prev, c_prev, act, tanh_c, h_out, h_next, c_next, keep, p):
    """Zoneout LSTM pointwise math on one step's gates, written into the given buffers.

    ``act`` (B, 4H) receives sigmoid(i, f, o) and tanh(g) (PyTorch's gate order i, f, g, o);
    ``h_out`` the cell output ``o * tanh(c_new)``; ``h_next``/``c_next`` the carried
    state: the previous value where ``keep = (keep_h, keep_c)`` (each (B, H) bool) is True, the expectation
    ``lerp(new, prev, p)`` in eval mode, the new value without zoneout.
    """
    H = c_prev.shape[1]
    torch.sigmoid(gates, out=act)
    torch.tanh(gates[:, 2 * H : 3 * H], out=act[:, 2 * H : 3 * H])
    i, f, g, o = act.chunk(4, 1)
    c_new = torch.mul(f, c_prev).addcmul_(i, g)  # (B, H)
    torch.tanh(c_new, out=tanh_c)
    torch.mul(o, tanh_c, out=h_out)
    if keep is not None:
        keep_h, keep_c = keep
        torch.where(keep_h, h_prev, h_out, out=h_next)
        torch.where(keep_c, c_prev, c_new, out=c_next)
    elif p > 0:
        torch.lerp(h_out, h_prev, p, out=h_next)
        torch.lerp(c_new, c_prev, p, out=c_next)
    else:
        h_next.copy_(h_out)
        c_next.copy_(c_new)


def _cell_backward_factors(act, tanh_c, c_prev, keep, p):
    """Everything :func:`_cell_backward` multiplies by, batched over all ``T`` steps at once.

    ``act`` (T, B, 4H), ``tanh_c`` and ``c_prev`` (T, B, H) from the forward; ``keep``
    (T, 2, B, H) bool zoneout masks or None; ``p`` the eval-mode zoneout rate.
    Returns one tuple per step: ``m`` (B, 4H), the gate gradients' factors
    ``[g i(1-i), c_prev f(1-f), i (1-g^2), tanh_c o(1-o)]`` (so the step's four gate
    gradients are one product); ``o_dc`` (B, H) ``= o (1 - tanh_c^2)``; ``f`` (B, H);
    and the zoneout split of a carried state's gradient, ``(new_h, new_c, prev_h,
    prev_c)``: what reaches the new value and the previous one (tensors, floats, or
    None where nothing reaches the previous value).
    """
    i, f, g, o = act.chunk(4, 2)  # (T, B, H) each
    m = torch.empty_like(act)  # (T, B, 4H), written in place: one pass per factor (at paper size, temporaries cost seconds)
    m_i, m_f, m_g, m_o = m.chunk(4, 2)
    sigmoid_backward, tanh_backward = torch.ops.aten.sigmoid_backward.grad_input, torch.ops.aten.tanh_backward.grad_input
    sigmoid_backward(g, i, grad_input=m_i)  # g i (1 - i)
    sigmoid_backward(c_prev, f, grad_input=m_f)  # c_prev f (1 - f)
    tanh_backward(i, g, grad_input=m_g)  # i (1 - g^2)
    sigmoid_backward(tanh_c, o, grad_input=m_o)  # tanh_c o (1 - o)
    o_dc = torch.ops.aten.tanh_backward(o, tanh_c)  # (T, B, H): o (1 - tanh_c^2)
    T = act.shape[0]
    if keep is not None:  # True where the previous value was kept
        prev = keep.to(act.dtype)  # (T, 2, B, H)
        new = torch.rsub(prev, 1.0)
        split = zip(new[:, 0].unbind(0), new[:, 1].unbind(0), prev[:, 0].unbind(0), prev[:, 1].unbind(0))
    elif p > 0:  # eval: lerp(new, prev, p)
        split = [(1.0 - p, 1.0 - p, p, p)] * T
    else:
        split = [(1.0, None, None, None)] * T  # None: a factor of one (new_c) or nothing (prev_h, prev_c)
    return list(zip(m.unbind(0), o_dc.unbind(0), f.unbind(0), split))


def _axpy(y, x, k):
    """``y + x k`` in one op (``k`` a tensor or a float)."""
    return torch.addcmul(y, x, k) if isinstance(k, torch.Tensor) else torch.add(y, x, alpha=k)


def _cell_backward(g_out, g_hnext, g_cnext, factors, g_gates):
    """Backward of :func:`_cell_forward`: gate gradients into ``g_gates`` (B, 4H).

    ``g_out`` is the gradient of the cell output from this step's consumers,
    ``g_hnext``/``g_cnext`` those of the carried state from the next step;
    ``factors`` the step's entry of :func:`_cell_backward_factors`. Returns the
    gradients of the previous state that do not pass through the gates:
    ``(g_h_prev_direct or None, g_c_prev)``.
    """
    m, o_dc, f, (new_h, new_c, prev_h, prev_c) = factors
    g_h = _axpy(g_out, g_hnext, new_h)  # (B, H) gradient of h_out
    g_c = torch.addcmul(g_cnext if new_c is None else g_cnext * new_c, g_h, o_dc)  # (B, H) gradient of c_new
    torch.cat((g_c, g_c, g_c, g_h), 1, out=g_gates).mul_(m)  # (B, 4H): d gates_i, _f, _g, _o
    h_direct = None if prev_h is None else g_hnext * prev_h
    g_c_prev = g_c * f if prev_c is None else torch.addcmul(g_cnext * prev_c, g_c, f)
    return h_direct, g_c_prev


class DecoderRecurrence(torch.autograd.Function):
    """The per-step recurrence of teacher-forced decoding, with a hand-written backward.

    Inputs (time-major, all from :func:`teacher_forced`)
    ------
    xa : (T, B, 4 d_att)
        Attention-LSTM gates from the prenet output, biases included.
    memory : (B, T_in, d_enc)
    pm : (B, T_in, A)
        ``V h + b``.
    w_a : (4 d_att, d_enc + d_att)
        Attention LSTM: the context columns of ``W_ih`` and ``W_hh`` side by side.
    w_q : (A, d_att)
        ``W`` (the query layer).
    w_loc : (A, 2, k)
        Location layer, convolution and dense fused.
    v : (A,)
    w_d, b_d : (4 d_dec, d_att + d_enc + d_dec), (4 d_dec,)
        Decoder LSTM: ``[W_ih, W_hh]`` and ``b_ih + b_hh``.
    h0a, c0a, h0d, c0d : (B, d_att) and (B, d_dec)
        Initial states.
    pad : (B, T_in) bool or None
        True at padded encoder positions.
    keep_att, keep_dec : (T, 2, B, H) bool or None
        Zoneout masks (training).
    p : float
        Zoneout rate for the eval-mode expectation (0 in training).

    Outputs
    -------
    d : (T, B, d_dec), context : (T, B, d_enc), alignments : (T, B, T_in)

    Notes
    -----
    The location convolution is a matrix product: the step's ``[alpha; cum]`` is
    unfolded into ``U`` ``(B * T_in, 2 k)`` (kept for the weight gradient) and
    multiplied by ``w_loc`` viewed as ``(A, 2 k)``. Its backward is the transposed
    convolution, done as one product and a shifted sum (see :meth:`backward`); the
    location weight's gradient is one product over all steps after the loop.

    ``tanh`` is the slowest of the step's pointwise functions on CPU. The attention's
    ``tanh(x)`` is ``2 sigmoid(2 x) - 1``: the loop computes ``2 x`` directly (the
    weights and ``pm`` doubled once, exact in floating point), keeps
    ``sigmoid(2 x)``, and uses ``e'_t = (2 v)^T sigmoid(2 x)``, which differs from the
    energies by the constant ``sum(v)`` and so gives the same softmax; backward,
    ``d tanh = 4 sigmoid (1 - sigmoid)`` and, since a softmax gradient sums to zero,
    ``dv = 2 sum(g_e sigmoid)``. Each LSTM's backward multiplies by factors computed
    for all steps at once (:func:`_cell_backward_factors`), leaving a handful of ops
    per step.
    """

    @staticmethod
    def forward(ctx, xa, memory, pm, w_a, w_q, w_loc, v, w_d, b_d, h0a, c0a, h0d, c0d, pad, keep_att, keep_dec, p):
        T, B, G = xa.shape
        Ha, Hd = G // 4, w_d.shape[0] // 4
        _, T_in, D = memory.shape
        A, _, k = w_loc.shape
        P = (k - 1) // 2  # 'same' padding of the location convolution
        save = any(ctx.needs_input_grad)
        n = T if save else 1  # without grad, one slot of each per-step buffer is reused
        new = xa.new_empty
        XA = new(T + 1, B, D + Ha)  # [c_{t-1}, h^a_{t-1}]: input of the attention-LSTM gemm
        XA[0, :, :D] = 0.0
        XA[0, :, D:] = h0a
        XD = new(T + 1, B, Ha + D + Hd)  # [s_t, c_t, h^d_{t-1}]: input of the decoder-LSTM gemm
        XD[0, :, Ha + D :] = h0d
        CA, CD = new(T + 1, B, Ha), new(T + 1, B, Hd)  # carried cell states
        CA[0], CD[0] = c0a, c0d
        AA, AD = new(n, B, 4 * Ha), new(n, B, 4 * Hd)  # gate activations
        TA, TD = new(n, B, Ha), new(n, B, Hd)  # tanh(c_new)
        SG = new(n, B, T_in, A)  # sigmoid(2 x) of the attention pre-activation x: tanh(x) = 2 sigmoid(2 x) - 1
        WC = xa.new_zeros(T + 1, B, T_in + 2 * P, 2)  # [alpha_{t-1}, cum_{t-1}] of step t at each position, zero-padded
        U = new(n, B * T_in, 2 * k)  # WC[t] unfolded: row (b, j) holds positions j..j+k-1, both channels
        d_out, context, align = new(T, B, Hd), new(T, B, D), new(T, B, T_in)
        lin_a, lin_d = PackedLinear(w_a, B), PackedLinear(w_d, B)  # x -> x W^T
        # the pre-activation is computed doubled (weights times 2: exact), so one sigmoid gives the tanh
        # (see the class notes); the energies are v^T (2 sigmoid - 1) = (2 v)^T sigmoid - sum(v), and a
        # constant shift leaves the softmax unchanged: e'_t = (2 v)^T sigmoid(2 x_t)
        pm2, v2 = pm * 2.0, v * 2.0
        lin_loc = PackedLinear((w_loc * 2.0).transpose(1, 2).reshape(A, 2 * k), B * T_in)  # columns in U's (tap, channel) order
        w_q_t = (w_q * 2.0).t()
        # per-step views, made once (indexing inside the loop costs more Python time than the math)
        xa_, XA_, XD_, CA_, CD_ = xa.unbind(0), XA.unbind(0), XD.unbind(0), CA.unbind(0), CD.unbind(0)
        h_a_, c_a_ = XA[:, :, D:].unbind(0), XA[:, :, :D].unbind(0)  # carried h^a_{t-1}; c_{t-1} as its input
        s_, c_d_, h_d_ = XD[:, :, :Ha].unbind(0), XD[:, :, Ha : Ha + D].unbind(0), XD[:, :, Ha + D :].unbind(0)
        AA_, AD_, TA_, TD_, SG_, U_ = AA.unbind(0), AD.unbind(0), TA.unbind(0), TD.unbind(0), SG.unbind(0), U.unbind(0)
        prev_, cum_ = WC[:, :, P : P + T_in, 0].unbind(0), WC[:, :, P : P + T_in, 1].unbind(0)
        windows = (WC.shape[2] * 2, 2, 1)  # strides of WC[t] seen as (B, T_in, 2k) overlapping windows
        WC_, context_, d_out_, align_ = WC.unbind(0), context.unbind(0), d_out.unbind(0), align.unbind(0)
        keep_att_ = [None] * T if keep_att is None else list(zip(keep_att[:, 0].unbind(0), keep_att[:, 1].unbind(0)))
        keep_dec_ = [None] * T if keep_dec is None else list(zip(keep_dec[:, 0].unbind(0), keep_dec[:, 1].unbind(0)))
        for t in range(T):
            j = t if save else 0
            gates = lin_a(XA_[t]).add_(xa_[t])  # (B, 4 d_att)
            _cell_forward(gates, h_a_[t], CA_[t], AA_[j], TA_[j], s_[t], h_a_[t + 1], CA_[t + 1], keep_att_[t], p)  # s_t
            U_[j].view(B, T_in, 2 * k).copy_(WC_[t].as_strided((B, T_in, 2 * k), windows))  # (B, T_in, 2k)
            e = torch.add(pm2, torch.mm(s_[t], w_q_t).unsqueeze(1))  # (B, T_in, A): 2 (V h + b + W s)
            e.add_(lin_loc(U_[j]).view(B, T_in, A))  # + 2 U F [alpha; cum]
            sg = torch.sigmoid(e, out=SG_[j])
            e = torch.mv(sg.view(B * T_in, A), v2).view(B, T_in)  # energies, shifted by sum(v)
            if pad is not None:
                e.masked_fill_(pad, float("-inf"))
            w = torch.ops.aten._softmax.out(e, 1, False, out=align_[t])  # (B, T_in) alpha_t
            prev_[t + 1].copy_(w)
            torch.add(cum_[t], w, out=cum_[t + 1])
            torch.bmm(w.unsqueeze(1), memory, out=context_[t].unsqueeze(1))  # (B, 1, d_enc)
            c_d_[t].copy_(context_[t])
            c_a_[t + 1].copy_(context_[t])
            gates = lin_d(XD_[t], b_d)  # (B, 4 d_dec)
            _cell_forward(gates, h_d_[t], CD_[t], AD_[j], TD_[j], d_out_[t], h_d_[t + 1], CD_[t + 1], keep_dec_[t], p)  # d_t
        if save:
            ctx.save_for_backward(memory, w_a, w_q, w_loc, v, w_d, align)
            ctx.buffers = (XA, XD, CA, CD, AA, AD, TA, TD, SG, U)
            ctx.keep, ctx.p = (keep_att, keep_dec), p
        return d_out, context, align

    @staticmethod
    @once_differentiable
    def backward(ctx, g_d, g_context, g_align):
        # the forward ran with autocast off, and so does the backward, even when called inside an
        # autocast block (else its products would come out in bfloat16 beside float32 buffers)
        with torch.autocast(device_type=g_d.device.type, enabled=False):
            return DecoderRecurrence._backward(ctx, g_d, g_context, g_align)

    @staticmethod
    def _backward(ctx, g_d, g_context, g_align):
        memory, w_a, w_q, w_loc, v, w_d, align = ctx.saved_tensors
        XA, XD, CA, CD, AA, AD, TA, TD, SG, U = ctx.buffers
        keep_att, keep_dec = ctx.keep
        p = ctx.p
        T, B, G = AA.shape
        Ha, Hd = G // 4, w_d.shape[0] // 4
        _, T_in, D = memory.shape
        A, _, k = w_loc.shape
        P = (k - 1) // 2
        new, zeros = XA.new_empty, XA.new_zeros
        GA, GD = new(T, B, 4 * Ha), new(T, B, 4 * Hd)  # gate gradients (pre-activation)
        GQ, GC = new(T, B, A), new(T, B, D)  # gradients of W s_t and of the context c_t
        gv = zeros(A)  # gradient of v, summed over steps
        memory_t = memory.transpose(1, 2)  # (B, d_enc, T_in)
        lin_a, lin_d = PackedLinear(w_a.t(), B), PackedLinear(w_d.t(), B)  # x -> x W
        # location backward for alpha_{t-1}: channel 0 of the transposed convolution of this step's
        # pre-tanh gradient, plus channel 1 of that of the running sum over steps >= t (cum_{t'-1}
        # holds alpha_{t-1} for every t' >= t). One product with [g_pre_t, sum] (B * T_in, 2A), then
        # a shifted sum over the k taps, read from a zero-padded buffer through a strided view.
        w_back = PackedLinear(w_loc.flip(2).transpose(0, 1).reshape(2 * A, k).t(), B * T_in)  # (k, 2A)
        GS = zeros(B, T_in, 2 * A)  # [g_pre_t, sum_{t' >= t} g_pre_t']
        g_pre_now, g_pre_sum = GS[:, :, :A], GS[:, :, A:]
        Zp = zeros(B, T_in + 2 * P, k)
        Z = Zp[:, P : P + T_in]  # (B, T_in, k)
        taps = Zp.as_strided((B, T_in, k), ((T_in + 2 * P) * k, k, k + 1))  # taps[b, j, m] = Zp[b, j + m, m]
        g_ha, g_ca, g_hd, g_cd = zeros(B, Ha), zeros(B, Ha), zeros(B, Hd), zeros(B, Hd)
        g_c_next = zeros(B, D)  # gradient of c_t through step t + 1's attention LSTM
        g_w_loc = zeros(B, T_in)  # gradient of alpha_t through the location features of later steps
        # per-step views, made once
        GA_, GD_, GQ_, GC_, SG_, U_ = GA.unbind(0), GD.unbind(0), GQ.unbind(0), GC.unbind(0), SG.unbind(0), U.unbind(0)
        g_d_, g_context_, g_align_, align_ = g_d.unbind(0), g_context.unbind(0), g_align.unbind(0), align.unbind(0)
        fac_att = _cell_backward_factors(AA, TA, CA[:T], keep_att, p)
        fac_dec = _cell_backward_factors(AD, TD, CD[:T], keep_dec, p)
        v4 = v.view(1, 1, A) * 4.0  # d tanh(x) = 4 sigmoid(2x) (1 - sigmoid(2x)) dx
        for t in reversed(range(T)):
            # decoder LSTM
            h_direct, g_cd = _cell_backward(g_d_[t], g_hd, g_cd, fac_dec[t], GD_[t])
            g_x = lin_d(GD_[t])  # (B, d_att + d_enc + d_dec)
            g_s, g_c, g_hd = g_x.split((Ha, D, Hd), 1)
            if h_direct is not None:
                g_hd = g_hd + h_direct
            # attention: context, softmax, energies, location
            g_c = torch.add(g_c, g_c_next, out=GC_[t]).add_(g_context_[t])  # (B, d_enc)
            g_w = torch.bmm(g_c.unsqueeze(1), memory_t).view(B, T_in)
            g_w.add_(g_w_loc).add_(g_align_[t])
            g_e = torch.ops.aten._softmax_backward_data(g_w, align_[t], 1, g_w.dtype)  # (B, T_in)
            gv.addmv_(SG_[t].view(B * T_in, A).t(), g_e.view(-1))  # halved; sum(g_e) = 0 drops the -1 of 2 sigmoid - 1
            g_pre = torch.ops.aten.sigmoid_backward.grad_input(g_e.unsqueeze(2) * v4, SG_[t], grad_input=SG_[t])  # (B, T_in, A)
            g_s.addmm_(torch.sum(g_pre, 1, out=GQ_[t]), w_q)  # through W s_t
            g_pre_sum.add_(g_pre)
            if t > 0:  # step 0's [alpha; cum] is the constant zero start
                g_pre_now.copy_(g_pre)
                Z.copy_(w_back(GS.view(B * T_in, 2 * A)).view(B, T_in, k))
                g_w_loc = taps.sum(2)  # (B, T_in)
            # attention LSTM
            h_direct, g_ca = _cell_backward(g_s, g_ha, g_ca, fac_att[t], GA_[t])
            g_c_next, g_ha = lin_a(GA_[t]).split((D, Ha), 1)  # (B, d_enc), (B, d_att)
            if h_direct is not None:
                g_ha = g_ha + h_direct

        # the LSTMs' and the query layer's weight gradients: one product over all T * B rows each
        need = ctx.needs_input_grad
        rows = lambda x: x.reshape(-1, x.shape[-1])  # noqa: E731
        g_memory = torch.bmm(align.permute(1, 2, 0), GC.transpose(0, 1)) if need[1] else None  # (B, T_in, d_enc)
        g_pm = g_pre_sum if need[2] else None
        g_w_a = matmul_tn(rows(GA), rows(XA[:T])) if need[3] else None
        g_w_q = matmul_tn(rows(GQ), rows(XD[:T, :, :Ha])) if need[4] else None
        g_w_d = matmul_tn(rows(GD), rows(XD[:T])) if need[7] else None
        g_b_d = GD.sum((0, 1)) if need[8] else None
        g_w_loc = None
        if need[5]:  # location weight: SG now holds every step's pre-tanh gradient; U's rows are in (tap, channel) order
            g_w_loc = matmul_tn(rows(U), SG.view(-1, A)).t().reshape(A, k, 2).transpose(1, 2)  # (A, 2, k)
        return (GA, g_memory, g_pm, g_w_a, g_w_q, g_w_loc, gv.mul_(2.0) if need[6] else None, g_w_d, g_b_d,
                g_ha, g_ca, g_hd, g_cd, None, None, None, None)
