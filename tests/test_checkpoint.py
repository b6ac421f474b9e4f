"""Checkpoints: atomic writes, RNG round trip, keep-last/best, refusing bad files."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

from tacolib import checkpoint as ckpt
from tacolib.config import get_config
from tacolib.schedule import learning_rate, make_scheduler


def _state(step, cfg, model=None):
    model = model or torch.nn.Linear(3, 2)
    return {"step": step, "config": cfg.to_dict(), "model": model.state_dict(), "rng": ckpt.rng_state()}


def test_round_trip_restores_weights_optimizer_and_scheduler(tmp_path, tiny_cfg):
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.Adam(model.parameters(), lr=tiny_cfg.train.lr)
    sched = make_scheduler(opt, tiny_cfg.train)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(2, 4)).pow(2).sum().backward()
        opt.step()
        sched.step()
    path = ckpt.save_checkpoint(
        tmp_path / "a.pt",
        {"step": 3, "config": tiny_cfg.to_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict()},
    )
    state = ckpt.load_checkpoint(path, config=tiny_cfg)
    model2 = torch.nn.Linear(4, 3)
    opt2 = torch.optim.Adam(model2.parameters(), lr=tiny_cfg.train.lr)
    sched2 = make_scheduler(opt2, tiny_cfg.train)
    model2.load_state_dict(state["model"])
    opt2.load_state_dict(state["optimizer"])
    sched2.load_state_dict(state["scheduler"])
    assert state["step"] == 3 and state["format"] == ckpt.FORMAT
    for a, b in zip(model.parameters(), model2.parameters()):
        assert torch.equal(a, b)
    assert torch.equal(opt.state_dict()["state"][0]["exp_avg"], opt2.state_dict()["state"][0]["exp_avg"])
    assert sched2.last_epoch == 3


def test_rng_states_round_trip_through_a_file(tmp_path, tiny_cfg):
    torch.manual_seed(5), np.random.seed(5), random.seed(5)
    state = _state(0, tiny_cfg)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    ckpt.save_checkpoint(tmp_path / "r.pt", state)
    torch.manual_seed(99), np.random.seed(99), random.seed(99)
    ckpt.set_rng_state(ckpt.load_checkpoint(tmp_path / "r.pt")["rng"])
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]


def test_write_is_atomic_a_failed_save_keeps_the_old_file(tmp_path, tiny_cfg, monkeypatch):
    path = ckpt.save_checkpoint(tmp_path / "c.pt", _state(1, tiny_cfg))
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(path, _state(2, tiny_cfg))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"], "the temporary file was left behind"


def test_truncated_file_is_refused_with_a_clear_error(tmp_path, tiny_cfg):
    path = ckpt.save_checkpoint(tmp_path / "t.pt", _state(1, tiny_cfg))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ckpt.CheckpointError, match="t.pt is not a readable checkpoint"):
        ckpt.load_checkpoint(path)


def test_foreign_and_missing_files_are_refused(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ckpt.CheckpointError, match="not a tacolib checkpoint"):
        ckpt.load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(ckpt.CheckpointError, match="checkpoint not found"):
        ckpt.load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint found in folder"):
        ckpt.load_checkpoint(tmp_path)


def test_checkpoint_from_another_model_config_is_refused(tmp_path, tiny_cfg):
    path = ckpt.save_checkpoint(tmp_path / "m.pt", _state(1, tiny_cfg))
    other = tiny_cfg.override(["model.r=2", "audio.n_mels=64"])
    r = tiny_cfg.model.r
    with pytest.raises(ckpt.CheckpointError, match=rf"model.r: checkpoint {r} vs config 2.*audio.n_mels|audio.n_mels.*model.r"):
        ckpt.load_checkpoint(path, config=other)
    # training settings may change between sessions
    ckpt.load_checkpoint(path, config=tiny_cfg.override(["train.lr=1e-4", "train.batch_size=4"]))


def test_checkpoint_older_than_a_config_key_counts_it_as_its_default(tmp_path, tiny_cfg):
    """A run saved before a model key existed (``model.init`` here) resumes: the key meant its default then."""
    state = _state(1, tiny_cfg)
    del state["config"]["model"]["init"]
    path = ckpt.save_checkpoint(tmp_path / "old.pt", state)
    ckpt.load_checkpoint(path, config=tiny_cfg)
    with pytest.raises(ckpt.CheckpointError, match="model.init: checkpoint 'xavier' vs config 'default'"):
        ckpt.load_checkpoint(path, config=tiny_cfg.override(["model.init=default"]))


def test_manager_keeps_last_k_and_best(tmp_path, tiny_cfg):
    m = ckpt.CheckpointManager(tmp_path / "ck", keep_last=2)
    for step, best in [(10, True), (20, False), (30, True), (40, False)]:
        m.save(_state(step, tiny_cfg), is_best=best)
    assert [p.name for p in m.step_files()] == ["step_00000030.pt", "step_00000040.pt"]
    assert ckpt.load_checkpoint(m.best_path)["step"] == 30
    assert m.latest().name == "step_00000040.pt"
    assert ckpt.load_checkpoint(tmp_path / "ck")["step"] == 40  # a folder means its newest
    assert not [p for p in (tmp_path / "ck").iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "kind, step, expected",
    [
        ("none", 10_000, 1e-3),
        ("exponential", 99, 1e-3),  # constant before the decay start
        ("exponential", 100, 1e-3),
        ("exponential", 150, 1e-3 * 0.5**0.5),
        ("exponential", 300, 2.5e-4),
        ("exponential", 10_000, 1e-5),  # floor
        ("noam", 0, 1e-3 / 10),  # warm-up
        ("noam", 50, 1e-3),
        ("noam", 400, 1e-3 * (100 / 400) ** 0.5),
    ],
)
def test_learning_rate_schedules(kind, step, expected):
    t = get_config("tiny").train
    t.lr, t.lr_schedule, t.lr_decay_start, t.lr_decay_rate, t.lr_decay_steps, t.lr_min, t.warmup_steps = 1e-3, kind, 100, 0.5, 100, 1e-5, 10
    assert learning_rate(step, t) == pytest.approx(expected, rel=1e-9)


def test_scheduler_drives_the_optimizer_and_rejects_bad_names():
    t = get_config("tiny").train
    t.lr, t.lr_decay_start, t.lr_decay_steps, t.lr_decay_rate = 1e-2, 2, 2, 0.5
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=t.lr)
    sched = make_scheduler(opt, t)
    seen = []
    for _ in range(6):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([learning_rate(s, t) for s in range(6)])
    assert seen[0] == seen[1] > seen[3] > seen[5]
    t.lr_schedule = "cosine"
    with pytest.raises(ValueError, match="unknown train.lr_schedule 'cosine'"):
        make_scheduler(opt, t)


# ---- files from strangers, malformed configs, orphans (issue 16) ------------------------------


@pytest.mark.parametrize("kind", ["torch", "pickle", "checkpoint"])
def test_a_checkpoint_that_would_run_code_is_refused_in_one_line_with_the_advice(tmp_path, malicious, kind):
    path = malicious(tmp_path / "evil.pt", kind)
    with pytest.raises(ckpt.CheckpointError) as err:
        ckpt.load_checkpoint(path)
    msg = str(err.value)
    assert not malicious.marker.exists(), "loading ran the file's code"
    assert "\n" not in msg and "evil.pt" in msg
    assert "only if you trust" in msg and "weights_only=False" in msg


@pytest.mark.parametrize(
    "config, key",
    [
        ({"model": {"r": "five"}}, "model.r"),
        ({"model": {"rr": 5}}, "rr"),
        ({"train": {"adam_betas": 0.9}}, "train.adam_betas"),
        ({"model": [1, 2]}, "'model'"),
        (7, "config"),
    ],
)
def test_a_checkpoint_with_a_malformed_config_names_the_file_and_key(tmp_path, tiny_cfg, config, key):
    state = _state(1, tiny_cfg)
    state["config"] = config
    path = ckpt.save_checkpoint(tmp_path / "bad.pt", state)
    with pytest.raises(ckpt.CheckpointError) as err:
        ckpt.load_checkpoint(path)
    msg = str(err.value)
    assert "\n" not in msg and "bad.pt" in msg and key in msg


def test_orphaned_temporary_files_of_a_killed_save_are_cleaned_and_nothing_else(tmp_path, tiny_cfg):
    folder = tmp_path / "checkpoints"
    manager = ckpt.CheckpointManager(folder)
    manager.save(_state(3, tiny_cfg))
    orphans = [folder / ".step_00000006.pt.k3j_x9a1.tmp", folder / ".best.pt.abcdefgh.tmp"]
    kept = [folder / "notes.tmp", folder / ".step_00000006.pt.tmp", folder / "mine.pt", folder / ".other.pt.abcdefgh.tmp"]
    for p in orphans + kept:
        p.write_bytes(b"half a checkpoint")
    ckpt.CheckpointManager(folder)  # the next start of the run
    assert not any(p.exists() for p in orphans)
    assert all(p.exists() for p in kept)
    assert manager.latest().name == "step_00000003.pt"
