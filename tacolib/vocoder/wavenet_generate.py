"""WaveNet generation: naive (the teaching baseline) and cached (fast), same samples.

Generating is sequential: sample ``t`` is drawn from the network's output given
samples ``< t``, and becomes the input for ``t + 1``.

*Naive*: for every new sample run the whole network over the last
``receptive_field`` inputs (511 for the default model) and keep the last output.
Almost all of that work was already done for the previous sample.

*Cached* (Paine et al. 2016, "Fast Wavenet Generation Algorithm"): a layer with
dilation ``d`` needs its input from ``d`` steps ago, so each layer keeps a queue of
its last ``d`` inputs and each step costs one column of work per layer. This
implementation goes further, for speed on a CPU at batch 1 where Python overhead,
not arithmetic, is the cost:

* numpy on preallocated buffers (``np.dot(..., out=)``), one small matmul per layer
  per step for the dilated conv: ``[W_cur; W_past] @ y_t`` gives both the current
  tap and the past tap that a later step (``t + d``) will need, so the queue stores
  ``W_past y_t`` (already multiplied) in a circular buffer;
* the conditioning term of every layer is computed once per *frame* before the loop
  (see the module docstring of :mod:`tacolib.vocoder.wavenet`);
* constants folded into weights: ``sigmoid(b) = (1 + tanh(b / 2)) / 2`` (one tanh
  over the whole gate), the residual ``1/sqrt(2)`` scaling, and the residual and
  skip biases (a constant 1 appended to each layer's gate output);
* all layers' skip projections as one matmul at the end; sampling by the Gumbel-max
  trick (``argmax(logits + g)``) with noise drawn per frame;
* for the μ-law output (the course's default), one frame's ``hop_length`` samples run
  inside a function compiled by numba (:func:`_mulaw_frame`): the same arithmetic as
  the numpy loop, written as plain loops over preallocated buffers, with no Python
  (and no per-call numpy) overhead per layer and sample. That overhead, not the
  arithmetic, is what a batch-1 loop on a CPU pays for. ``fast=False`` keeps the
  numpy loop (readable, and the reference the compiled one is tested against).

Both generators draw their randomness from the same per-frame noise
(:func:`frame_noise`), so from the same seed they produce the same samples (up to
float rounding, which would have to flip an argmax to matter).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from tacolib.config import AudioConfig
from tacolib.vocoder.wavenet import WaveNet, decode_samples, load_wavenet

__all__ = ["generate", "WaveNetVocoder", "CachedWaveNet", "frame_noise"]


def frame_noise(seed: int, frame: int, hop: int, batch: int, k: int, mol: bool):
    """The random numbers that sample frame ``frame``'s ``hop`` samples.

    Returns ``gumbel (hop, B, k)`` float32 (Gumbel(0, 1): ``argmax(logits + g)`` is a
    sample from ``softmax(logits)``) and, for a mixture of logistics, ``uniform (hop, B)``.
    Seeded by ``(seed, frame)``, so any generator that asks for a frame gets the same numbers.
    """
    rng = np.random.default_rng([seed, frame])
    g = rng.random((hop, batch, k), dtype=np.float32)  # U[0, 1) -> Gumbel: -log(-log(u)), in place
    np.maximum(g, np.float32(1e-30), out=g)
    np.log(g, out=g)
    np.negative(g, out=g)
    np.log(g, out=g)
    np.negative(g, out=g)
    u = rng.uniform(1e-5, 1 - 1e-5, size=(hop, batch)).astype(np.float32) if mol else None
    return g, u


def _check_mel(model: WaveNet, mel) -> tuple[torch.Tensor, bool]:
    mel = torch.as_tensor(mel).float()
    single = mel.dim() == 2
    mel = mel[None] if single else mel
    if mel.dim() != 3 or mel.shape[-1] != model.cfg.n_mels or mel.shape[1] < 1:
        raise ValueError(f"generate: mel must be (T_frames, n_mels={model.cfg.n_mels}) or (B, T_frames, n_mels), got {tuple(mel.shape)}")
    return mel, single


def generate(model: WaveNet, mel, method: str = "cached", seed: int = 0, n_samples: int | None = None, progress: bool = True) -> torch.Tensor:
    """Sample a waveform from a WaveNet given a mel spectrogram.

    Parameters
    ----------
    model : WaveNet
    mel : Tensor
        ``(T_frames, n_mels)`` or ``(B, T_frames, n_mels)`` scaled mel(s); a batch is
        generated together (pad shorter mels and crop their outputs).
    method : {"cached", "naive"}
        Fast per-layer queues, or a full forward pass per sample (slow; for teaching).
    seed : int
        Same seed, same samples, whichever method.
    n_samples : int, optional
        Stop early (default ``T_frames * hop_length``).
    progress : bool
        tqdm progress bar.

    Returns
    -------
    Tensor ``(T,)`` or ``(B, T)`` float32 waveform in [-1, 1].
    """
    mel, single = _check_mel(model, mel)
    mel = mel.to(next(model.parameters()).device)
    total = mel.shape[1] * model.cfg.hop_length
    n = total if n_samples is None else int(n_samples)
    if not 0 < n <= total:
        raise ValueError(f"generate: n_samples must be in [1, {total}] for {mel.shape[1]} frames, got {n_samples}")
    if method == "cached":
        samples = CachedWaveNet(model).generate(mel, seed=seed, n_samples=n, progress=progress)
    elif method == "naive":
        samples = _generate_naive(model, mel, seed, n, progress)
    else:
        raise ValueError(f"generate: method must be 'cached' or 'naive', got {method!r}")
    wav = decode_samples(model, samples)
    return wav[0] if single else wav


class WaveNetVocoder:
    """A trained WaveNet as a vocoder object: ``generate(mel) -> wav``.

    The same interface as :class:`tacolib.vocoder.griffin_lim.GriffinLimVocoder`, so
    :func:`tacolib.synthesize.synthesize` takes either.

    Parameters
    ----------
    model : WaveNet
    method, seed, progress
        As in :func:`generate`.
    """

    def __init__(self, model: WaveNet, method: str = "cached", seed: int = 0, progress: bool = True):
        self.model, self.method, self.seed, self.progress = model, method, seed, progress

    @classmethod
    def load(cls, path, audio: AudioConfig | None = None, device="cpu", **kwargs) -> "WaveNetVocoder":
        """A checkpoint written by :func:`tacolib.vocoder.wavenet.save_wavenet`, on ``device``.

        With ``audio`` (the Tacotron's audio config), a WaveNet made for other mels is
        refused with a ``ValueError`` naming both.
        """
        model = load_wavenet(path)
        c = model.cfg
        if audio is not None and (c.n_mels, c.hop_length) != (audio.n_mels, audio.hop_length):
            raise ValueError(
                f"{path}: the WaveNet expects n_mels={c.n_mels}, hop_length={c.hop_length}; "
                f"the Tacotron makes n_mels={audio.n_mels}, hop_length={audio.hop_length}"
            )
        return cls(model.to(device), **kwargs)

    @torch.no_grad()
    def generate(self, mel) -> torch.Tensor:
        """Scaled mel ``(T_frames, n_mels)`` -> waveform ``(T_frames * hop_length,)`` float32 on CPU, in [-1, 1]."""
        wav = generate(self.model, mel, method=self.method, seed=self.seed, progress=self.progress)
        return wav.reshape(-1).float().cpu()


def _sample_torch(out: torch.Tensor, model: WaveNet, g: np.ndarray, u) -> torch.Tensor:
    """One step's output ``(B, n_out)`` -> samples ``(B,)`` using the given noise."""
    if model.cfg.output == "mulaw":
        return torch.argmax(out + torch.from_numpy(g).to(out.device), dim=1)
    K = model.cfg.n_mixtures
    logit, means, log_scales = out.split(K, dim=1)
    k = torch.argmax(logit + torch.from_numpy(g).to(out.device), dim=1, keepdim=True)  # (B, 1) component
    mu, ls = means.gather(1, k)[:, 0], log_scales.gather(1, k)[:, 0].clamp(min=-7.0)
    u = torch.from_numpy(u).to(out.device)
    return (mu + torch.exp(ls) * (torch.log(u) - torch.log1p(-u))).clamp(-1.0, 1.0)


@torch.inference_mode()
def _generate_naive(model: WaveNet, mel: torch.Tensor, seed: int, n: int, progress: bool) -> torch.Tensor:
    """Recompute the receptive field for every sample: ``(B, n)`` classes or values."""
    from tqdm.auto import tqdm

    model.eval()
    cfg, hop = model.cfg, model.cfg.hop_length
    B = mel.shape[0]
    layer_cond = model.layer_conditioning(model.condition(mel))  # per layer (B, gate, T_frames)
    R = model.receptive_field
    dtype = torch.long if cfg.output == "mulaw" else torch.float32
    inputs = torch.full((B, n + 1), model.start_input, dtype=dtype, device=mel.device)  # inputs[:, t] = sample t - 1
    K = cfg.n_classes if cfg.output == "mulaw" else cfg.n_mixtures
    with tqdm(total=n, unit="sample", desc="naive generation", disable=not progress) as bar:
        for f in range(math.ceil(n / hop)):
            g, u = frame_noise(seed, f, hop, B, K, cfg.output == "mol")
            for j in range(min(hop, n - f * hop)):
                t = f * hop + j
                lo = max(0, t - R + 1)  # the receptive field: all the last output can see
                frames = torch.arange(lo, t + 1) // hop
                out = model.net(inputs[:, lo : t + 1], [c[:, :, frames] for c in layer_cond])[:, :, -1]  # (B, n_out)
                inputs[:, t + 1] = _sample_torch(out, model, g[j], None if u is None else u[j])
            bar.update(min(hop, n - f * hop))
    return inputs[:, 1:].cpu()


try:  # numba comes with librosa; without it the numpy loop runs (about 3x slower at batch 1)
    import numba
except ImportError:  # pragma: no cover
    numba = None


def _mulaw_frame_py(t0, steps, dil_plus1, q_off, Q, y, Z, WaT, cond, RT, WskipT, H1T, b1, H2T, g, embed, samples,
                    h, sk, o1, out):
    """``steps`` samples of the μ-law cached loop, from sample ``t0`` (see :meth:`CachedWaveNet.generate`).

    Shapes: ``Q (sum(d + 1), B, 2G)`` all layers' queues, ``y (B, R)`` residual stream,
    ``Z (B, L * (half + 1))`` gate outputs with a constant 1 per layer, ``WaT (L, R, 2G)``,
    ``cond (L, B, G)`` this frame's conditioning + gate bias, ``RT (L - 1, half + 1, R)``,
    ``WskipT (L * (half + 1), Sk)``, ``H1T (Sk, H)``, ``H2T (H, K)``, ``g (hop, B, K)``
    Gumbel noise + output bias, ``embed (K, R)``, ``samples (n, B)``; the rest are scratch.
    """
    L, R, G2 = WaT.shape
    G = G2 // 2
    half = G // 2
    B = y.shape[0]
    Sk, H, K = WskipT.shape[1], H1T.shape[1], H2T.shape[1]
    for j in range(steps):
        t = t0 + j
        for b in range(B):
            for l in range(L):
                m = dil_plus1[l]
                row = Q[q_off[l] + t % m, b]  # (2G,): [W_cur y + c | W_past y]
                old = Q[q_off[l] + (t + 1) % m, b]  # W_past y from d steps ago (zeros at first)
                W = WaT[l]
                for k in range(G2):
                    row[k] = 0.0
                for i in range(R):
                    yi = y[b, i]
                    for k in range(G2):
                        row[k] += yi * W[i, k]
                for k in range(G):
                    h[k] = np.tanh(row[k] + cond[l, b, k] + old[G + k])  # tanh(a) | tanh(b / 2)
                zo = l * (half + 1)
                for k in range(half):
                    Z[b, zo + k] = h[k] * (h[half + k] + 1.0)  # 2 tanh(a) sigmoid(b)
                if l < L - 1:
                    Rl = RT[l]
                    for i in range(half + 1):  # the residual, its bias via the constant 1
                        zi = Z[b, zo + i]
                        for k in range(R):
                            y[b, k] += zi * Rl[i, k]
            for k in range(Sk):
                sk[k] = 0.0
            for i in range(Z.shape[1]):
                zi = Z[b, i]
                for k in range(Sk):
                    sk[k] += zi * WskipT[i, k]
            for k in range(H):
                o1[k] = b1[k]
            for i in range(Sk):
                si = max(sk[i], 0.0)
                for k in range(H):
                    o1[k] += si * H1T[i, k]
            for k in range(K):
                out[k] = g[j, b, k]
            for i in range(H):
                oi = max(o1[i], 0.0)
                for k in range(K):
                    out[k] += oi * H2T[i, k]
            best = 0
            for k in range(1, K):
                if out[k] > out[best]:
                    best = k
            samples[t, b] = best
            for k in range(R):
                y[b, k] = embed[best, k]


_mulaw_frame = numba.njit(cache=True, nogil=True)(_mulaw_frame_py) if numba is not None else None


class CachedWaveNet:
    """A WaveNet's weights rearranged for fast incremental generation in numpy.

    Build it once per trained model (``CachedWaveNet(model)``), then call
    :meth:`generate` as often as needed; the torch model is not touched.
    """

    def __init__(self, model: WaveNet):
        self.model = model
        cfg = self.cfg = model.cfg
        half = cfg.gate_channels // 2
        s = math.sqrt(0.5)
        gate_scale = torch.ones(cfg.gate_channels, dtype=torch.float64)
        gate_scale[half:] = 0.5  # sigmoid(b) = (1 + tanh(b / 2)) / 2
        self.gate_scale = gate_scale
        f32 = lambda t: np.ascontiguousarray(t.detach().cpu().double().numpy(), dtype=np.float32)  # noqa: E731
        self.WaT, self.RT, skip_blocks = [], [], []
        for l, layer in enumerate(model.layers):
            w = layer.conv.weight.detach().double()  # (G, R, 2): tap 0 -> x[t-d], tap 1 -> x[t]
            scale_in = s**l  # the layer input x_l = s^l * y_l (y: the unscaled residual stream)
            W_cur = w[:, :, 1] * scale_in * gate_scale[:, None]
            W_past = w[:, :, 0] * scale_in * gate_scale[:, None]
            self.WaT.append(f32(torch.cat([W_cur, W_past], 0).T))  # (R, 2G)
            # the gate output z' = tanh(a) (1 + tanh(b/2)) = 2 z, plus a constant 1 for the biases
            S = layer.skip.weight.detach().double()[:, :, 0] * 0.5  # (Sk, half)
            skip_blocks.append(torch.cat([S, layer.skip.bias.detach().double()[:, None]], 1).T)  # (half + 1, Sk)
            if layer.res is not None:
                Rw = layer.res.weight.detach().double()[:, :, 0] * 0.5 * s ** (-l)  # (R, half)
                Rb = layer.res.bias.detach().double() * s ** (-l)
                self.RT.append(f32(torch.cat([Rw, Rb[:, None]], 1).T))  # (half + 1, R)
        self.WskipT = f32(torch.cat(skip_blocks, 0))  # (L * (half + 1), Sk)
        self.H1T, self.b1 = f32(model.head1.weight[:, :, 0].T), f32(model.head1.bias)
        self.H2T, self.b2 = f32(model.head2.weight[:, :, 0].T), f32(model.head2.bias)
        # the same weights stacked for the compiled loop, and where each layer's queue starts
        self.WaT_stack = np.ascontiguousarray(np.stack(self.WaT))  # (L, R, 2G)
        self.RT_stack = np.ascontiguousarray(np.stack(self.RT)) if self.RT else np.zeros((1, half + 1, cfg.residual_channels), np.float32)
        self.dil_plus1 = np.array([d + 1 for d in cfg.dilations], np.int64)  # queue lengths
        self.q_off = np.concatenate([[0], np.cumsum(self.dil_plus1)[:-1]]).astype(np.int64)
        if cfg.output == "mulaw":
            self.embed = f32(model.input.weight)  # (n_classes, R): y_0 for each previous class
        else:
            self.w_in, self.b_in = f32(model.input.weight[:, 0, 0]), f32(model.input.bias)

    @torch.inference_mode()
    def conditioning(self, mel: torch.Tensor) -> np.ndarray:
        """Every layer's gate bias + conditioning, per frame: ``(T_frames, L, B, G)`` float32."""
        m = self.model
        cond = m.condition(mel)  # (B, C, T_frames)
        per_layer = []
        for layer in m.layers:
            c = layer.cond(cond) + layer.conv.bias[None, :, None]  # (B, G, T_frames)
            per_layer.append(c * self.gate_scale.float().to(c.device)[None, :, None])
        return np.ascontiguousarray(torch.stack(per_layer).permute(3, 0, 1, 2).cpu().numpy(), dtype=np.float32)

    def generate(self, mel: torch.Tensor, seed: int = 0, n_samples: int | None = None, progress: bool = True,
                 fast: bool = True) -> torch.Tensor:
        """``mel (B, T_frames, n_mels)`` -> ``(B, n)`` generated classes (μ-law) or values (MoL).

        ``fast`` runs the μ-law loop compiled by numba (same samples as ``fast=False``,
        the numpy loop, up to float rounding that would have to flip an argmax).
        """
        if fast and _mulaw_frame is not None and self.cfg.output == "mulaw":
            return self._generate_compiled(mel, seed, n_samples, progress)
        from tqdm.auto import tqdm

        cfg = self.cfg
        hop, L, G, half, R = cfg.hop_length, cfg.layers, cfg.gate_channels, cfg.gate_channels // 2, cfg.residual_channels
        B = mel.shape[0]
        n = n_samples or mel.shape[1] * hop
        mulaw = cfg.output == "mulaw"
        K = cfg.n_classes if mulaw else cfg.n_mixtures
        C_all = self.conditioning(mel)  # (T_frames, L, B, G)
        dil = cfg.dilations

        # ---- preallocated state ---------------------------------------------------
        # The residual stream y carries B extra columns holding the identity, so the
        # rows appended to each layer's [W_cur; W_past]^T can hold this frame's
        # conditioning (+ bias) for each utterance: one matmul gives W_cur y + c.
        y = np.zeros((B, R + B), np.float32)
        y[:, R:] = np.eye(B, dtype=np.float32)
        yR = y[:, :R]
        WaT = [np.concatenate([w, np.zeros((B, 2 * G), np.float32)]) for w in self.WaT]  # (R + B, 2G)
        RT = [np.concatenate([w, np.zeros((w.shape[0], B), np.float32)], 1) for w in self.RT]  # (half + 1, R + B)
        # A queue of d + 1 rows per layer: step t writes row t % (d + 1) while row
        # (t + 1) % (d + 1) still holds W_past y from step t - d (zeros before that: causal padding).
        queues = [np.zeros((d + 1, B, 2 * G), np.float32) for d in dil]  # [W_cur y + c | W_past y]
        cur = [[q[i, :, :G] for i in range(q.shape[0])] for q in queues]  # views, built once
        past = [[q[i, :, G:] for i in range(q.shape[0])] for q in queues]
        rows = [[q[i] for i in range(q.shape[0])] for q in queues]
        Z = np.ones((B, L * (half + 1)), np.float32)  # all layers' gate outputs (+ a constant 1 each)
        Zl = [Z[:, l * (half + 1) : l * (half + 1) + half] for l in range(L)]
        Zaug = [Z[:, l * (half + 1) : (l + 1) * (half + 1)] for l in range(L)]
        h = np.empty((B, G), np.float32)
        ha, hb = h[:, :half], h[:, half:]
        r = np.empty((B, R + B), np.float32)
        sk = np.empty((B, self.WskipT.shape[1]), np.float32)
        o1 = np.empty((B, self.H1T.shape[1]), np.float32)
        out = np.empty((B, self.H2T.shape[1]), np.float32)
        samples = np.empty((n, B), np.int64 if mulaw else np.float32)
        if mulaw:
            prev = np.full(B, self.model.start_input, np.int64)
            yR[:] = self.embed[prev]
        else:
            yR[:] = self.b_in
        WskipT, H1T, H2T, b1 = self.WskipT, self.H1T, self.H2T, self.b1
        layer_info = [(l, d + 1, WaT[l], cur[l], past[l], rows[l], Zl[l], Zaug[l], RT[l] if l < L - 1 else None) for l, d in enumerate(dil)]
        dot, add, mul, tanh, maximum = np.dot, np.add, np.multiply, np.tanh, np.maximum

        t = 0
        with tqdm(total=n, unit="sample", desc="cached generation", disable=not progress) as bar:
            for f in range(math.ceil(n / hop)):
                g, u = frame_noise(seed, f, hop, B, K, not mulaw)
                if mulaw:
                    g += self.b2  # fold the output bias into the noise
                for l in range(L):
                    WaT[l][R:, :G] = C_all[f, l]  # this frame's conditioning + gate bias, (B, G)
                steps = min(hop, n - t)
                for j in range(steps):
                    for l, m, Wa, cur_l, past_l, rows_l, z, zaug, Rt in layer_info:
                        i = t % m
                        dot(y, Wa, out=rows_l[i])  # [W_cur y_t + c_t | W_past y_t]; the second half waits d steps
                        add(cur_l[i], past_l[(t + 1) % m], out=h)  # + W_past y_{t-d}
                        tanh(h, out=h)  # tanh(a) | tanh(b / 2)
                        add(hb, 1.0, out=hb)
                        mul(ha, hb, out=z)  # z' = 2 tanh(a) sigmoid(b)
                        if Rt is not None:
                            dot(zaug, Rt, out=r)  # residual (bias via the constant 1)
                            add(y, r, out=y)
                    dot(Z, WskipT, out=sk)  # all skips and their biases at once
                    maximum(sk, 0.0, out=sk)
                    dot(sk, H1T, out=o1)
                    add(o1, b1, out=o1)
                    maximum(o1, 0.0, out=o1)
                    dot(o1, H2T, out=out)
                    if mulaw:
                        add(out, g[j], out=out)
                        prev = out.argmax(axis=1)  # (B,) Gumbel-max sample
                        samples[t] = prev
                        yR[:] = self.embed[prev]
                    else:
                        x = self._sample_mol(out + self.b2, g[j], u[j])  # (B,)
                        samples[t] = x
                        mul(x[:, None], self.w_in, out=yR)
                        add(yR, self.b_in, out=yR)
                    t += 1
                bar.update(steps)
        return torch.from_numpy(samples.T.copy())  # (B, n)

    def _generate_compiled(self, mel: torch.Tensor, seed: int, n_samples: int | None, progress: bool) -> torch.Tensor:
        """The μ-law loop of :meth:`generate`, one :func:`_mulaw_frame` call per frame."""
        from tqdm.auto import tqdm

        cfg = self.cfg
        hop, L, G, half = cfg.hop_length, cfg.layers, cfg.gate_channels, cfg.gate_channels // 2
        B = mel.shape[0]
        n = n_samples or mel.shape[1] * hop
        C_all = self.conditioning(mel)  # (T_frames, L, B, G)
        Q = np.zeros((int(self.dil_plus1.sum()), B, 2 * G), np.float32)  # every layer's queue (causal zeros)
        y = np.ascontiguousarray(np.repeat(self.embed[self.model.start_input][None], B, 0))  # (B, R)
        Z = np.ones((B, L * (half + 1)), np.float32)
        h, sk = np.empty(G, np.float32), np.empty(self.WskipT.shape[1], np.float32)
        o1, out = np.empty(self.H1T.shape[1], np.float32), np.empty(self.H2T.shape[1], np.float32)
        samples = np.empty((n, B), np.int64)
        t = 0
        with tqdm(total=n, unit="sample", desc="cached generation", disable=not progress) as bar:
            for f in range(math.ceil(n / hop)):
                g, _ = frame_noise(seed, f, hop, B, cfg.n_classes, False)
                g += self.b2  # fold the output bias into the noise
                steps = min(hop, n - t)
                _mulaw_frame(t, steps, self.dil_plus1, self.q_off, Q, y, Z, self.WaT_stack, C_all[f], self.RT_stack, self.WskipT, self.H1T, self.b1,
                             self.H2T, g, self.embed, samples, h, sk, o1, out)
                t += steps
                bar.update(steps)
        return torch.from_numpy(samples.T.copy())  # (B, n)

    def _sample_mol(self, params: np.ndarray, g: np.ndarray, u: np.ndarray) -> np.ndarray:
        K = self.cfg.n_mixtures
        k = np.argmax(params[:, :K] + g, axis=1)  # (B,)
        rows = np.arange(params.shape[0])
        mu = params[rows, K + k]
        ls = np.maximum(params[rows, 2 * K + k], -7.0)
        return np.clip(mu + np.exp(ls) * (np.log(u) - np.log1p(-u)), -1.0, 1.0).astype(np.float32)
