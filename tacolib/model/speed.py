"""Timing helpers for the decoder loop (notebook 05 and ``benchmarks/model.py``).

The seed recommends ``nn.LSTM`` over ``nn.LSTMCell`` for the decoder because on a GPU
``nn.LSTM`` runs cuDNN's fused kernel. Whether that holds depends on the device: on a
CPU a one-step ``nn.LSTM`` pays for sequence handling it does not need, and the cell
is faster. :func:`compare_lstm_step` measures both on *your* device, side by side.
"""

from __future__ import annotations

import time

import torch
import torch.nn as nn


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_per_call(fn, n: int, device: torch.device | str = "cpu", warmup: int = 5) -> float:
    """Median-of-3 wall time of ``fn()`` in milliseconds per call (``n`` calls per round)."""
    device = torch.device(device)
    for _ in range(warmup):
        fn()
    rounds = []
    for _ in range(3):
        _sync(device)
        t = time.perf_counter()
        for _ in range(n):
            fn()
        _sync(device)
        rounds.append((time.perf_counter() - t) / n * 1e3)
    return sorted(rounds)[1]


def compare_lstm_step(
    input_size: int = 768,
    hidden_size: int = 1024,
    batch_size: int = 1,
    steps: int = 100,
    device: str | torch.device = "cpu",
) -> dict:
    """Time one decoder-style LSTM step with ``nn.LSTMCell`` and with a one-step ``nn.LSTM``.

    Both get the same weights and inputs and are called step by step, as in the
    decoder loop (under ``torch.inference_mode``).

    Parameters
    ----------
    input_size, hidden_size : int
        Paper's attention LSTM: 256 + 512 = 768 inputs, 1024 units.
    batch_size : int
    steps : int
        Calls per timing round.
    device : str or torch.device

    Returns
    -------
    dict
        ``cell_ms``, ``lstm_ms`` (milliseconds per step), ``ratio`` (lstm / cell: > 1
        means the cell is faster), ``device``, ``threads``.
    """
    device = torch.device(device)
    cell = nn.LSTMCell(input_size, hidden_size).to(device)
    lstm = nn.LSTM(input_size, hidden_size, batch_first=False).to(device)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(cell.weight_ih)
        lstm.weight_hh_l0.copy_(cell.weight_hh)
        lstm.bias_ih_l0.copy_(cell.bias_ih)
        lstm.bias_hh_l0.copy_(cell.bias_hh)
    x = torch.randn(batch_size, input_size, device=device)
    h = torch.zeros(batch_size, hidden_size, device=device)
    c = torch.zeros(batch_size, hidden_size, device=device)
    x3, h3, c3 = x.unsqueeze(0), h.unsqueeze(0), c.unsqueeze(0)  # (1, B, .): one time step

    with torch.inference_mode():
        h_cell, _ = cell(x, (h, c))
        out, _ = lstm(x3, (h3, c3))
        if not torch.allclose(h_cell, out[0], atol=1e-5):
            raise RuntimeError("compare_lstm_step: LSTMCell and LSTM disagree; the comparison would be meaningless")
        cell_ms = time_per_call(lambda: cell(x, (h, c)), steps, device)
        lstm_ms = time_per_call(lambda: lstm(x3, (h3, c3)), steps, device)
    return {"cell_ms": cell_ms, "lstm_ms": lstm_ms, "ratio": lstm_ms / cell_ms, "device": str(device), "threads": torch.get_num_threads()}
