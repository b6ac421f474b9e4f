"""The trainer on the fast TinySpeech: exact resume, Ctrl-C, NaN, time budget, TensorBoard, data order."""

from __future__ import annotations

import math
import signal

import pytest
import torch

from tacolib import checkpoint as ckpt
from tacolib.config import get_config
from tacolib.samplers import epoch_batches, padding_fraction
from tacolib.train import Trainer, TrainingDiverged



@pytest.fixture(scope="module")
def corpus():
    """The fast TinySpeech (built in about a second on first use) and its mels."""
    from tacolib.corpus import tinyspeech

    return tinyspeech.build("fast", progress=False)


def _data(corpus, cfg):
    """12 training utterances (3 batches of 4: runs cross epoch ends) and the 8 held-out ones."""
    from tacolib.data import TTSDataset

    ids = TTSDataset(corpus, cfg, split="train", cache_dir=None).ids[:12]
    return TTSDataset(corpus, cfg, ids=ids).preprocess(False), TTSDataset(corpus, cfg, split="test").preprocess(False)


def _cfg(**train):
    cfg = get_config("tiny").override(
        [
            "model.symbols_embedding_dim=32", "model.encoder_embedding_dim=32",
            "model.attention_dim=16", "model.attention_rnn_dim=32", "model.decoder_rnn_dim=32", "model.prenet_dim=32",
            "model.postnet_embedding_dim=32", "model.max_decoder_steps=20", "train.batch_size=4", "train.log_every=1",
            "train.val_every=3", "train.ckpt_every=3", "train.lr_decay_start=2", "train.lr_decay_steps=3",
        ]
    )
    return cfg.override(train) if train else cfg


def _trainer(corpus, tmp_path, name="run", cfg=None, **kw):
    kw.setdefault("tensorboard", False)
    cfg = cfg or _cfg()
    train, test = _data(corpus, cfg)
    return Trainer(cfg, tmp_path / name, train, test, device="cpu", n_infer=2, progress=False, **kw)


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ---- tests ------------------------------------------------------------------------------------------------------


def test_interrupted_and_resumed_run_equals_uninterrupted(corpus, tmp_path):
    """Ctrl-C at step 4, resume to step 8: bit-identical weights (CPU), across epoch ends and validations."""
    straight = _trainer(corpus, tmp_path, "a")
    assert straight.fit(max_steps=8)["status"] == "done"

    def ctrl_c(trainer, record):
        if trainer.step == 4:
            signal.raise_signal(signal.SIGINT)  # what a terminal's Ctrl-C delivers

    torch.manual_seed(123)  # a different process state before the first session
    first = _trainer(corpus, tmp_path, "b", on_step=ctrl_c)
    result = first.fit(max_steps=8)
    assert result["status"] == "interrupted" and result["step"] == 4
    assert ckpt.load_checkpoint(result["checkpoint"])["step"] == 4

    torch.manual_seed(456)  # and a different one before the second
    second = _trainer(corpus, tmp_path, "b")
    result = second.fit(max_steps=8, resume=True)
    assert result["status"] == "done" and second.step == 8
    assert second.epoch == straight.epoch and second.batch_in_epoch == straight.batch_in_epoch
    a, b = _params(straight.model), _params(second.model)
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    assert [r["loss"] for r in second.history["train"]] == pytest.approx([r["loss"] for r in straight.history["train"]], abs=0)


def test_a_resumed_run_may_change_the_learning_rate(corpus, tmp_path):
    _trainer(corpus, tmp_path).fit(max_steps=2)
    trainer = _trainer(corpus, tmp_path, cfg=_cfg(**{"train.lr": 1e-4, "train.lr_decay_start": 100}))
    trainer.fit(max_steps=3, resume=True)
    assert trainer.history["train"][-1]["lr"] == pytest.approx(1e-4)


def test_raw_keyboard_interrupt_saves_a_checkpoint(corpus, tmp_path):
    def boom(trainer, record):
        if trainer.step == 2:
            raise KeyboardInterrupt

    result = _trainer(corpus, tmp_path, on_step=boom).fit(max_steps=6)
    assert result["status"] == "interrupted"
    assert ckpt.load_checkpoint(result["checkpoint"])["step"] == 2


def test_nan_loss_stops_and_names_the_last_good_checkpoint(corpus, tmp_path):
    def poison(trainer, record):
        if trainer.step == 3:  # after the step-3 checkpoint
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("nan"))

    trainer = _trainer(corpus, tmp_path, on_step=poison)
    with pytest.raises(TrainingDiverged, match=r"diverged at step 4: the loss is nan.*last good checkpoint is .*step_00000003\.pt"):
        trainer.fit(max_steps=6)


def test_time_budget_stops_saves_and_reports(corpus, tmp_path):
    result = _trainer(corpus, tmp_path).fit(max_steps=100, max_minutes=1e-6)
    assert result["status"] == "time_budget" and result["step"] == 1
    assert ckpt.load_checkpoint(result["checkpoint"])["step"] == 1
    assert "infer_focus" in result["val"]  # final numbers for the caller (the quickstart)


def test_resume_refuses_a_checkpoint_of_another_model(corpus, tmp_path):
    _trainer(corpus, tmp_path).fit(max_steps=1)
    other = _trainer(corpus, tmp_path, cfg=_cfg().override(["model.attention_dim=8"]))
    with pytest.raises(ckpt.CheckpointError, match="model.attention_dim: checkpoint 16 vs config 8"):
        other.fit(max_steps=2, resume=True)


def test_validation_logs_tensorboard_scalars_figures_and_audio(corpus, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # gate_threshold 0.9999: the untrained stop token never fires, so free-running speech is
    # long enough (12 steps x r) for Griffin-Lim
    cfg = _cfg().override(["model.max_decoder_steps=12", "model.gate_threshold=0.9999", "train.val_every=2"])
    trainer = _trainer(corpus, tmp_path, cfg=cfg, tensorboard=True)
    trainer.fit(max_steps=2)
    trainer.close()
    ea = EventAccumulator(str(tmp_path / "run" / "tb"), size_guidance={"images": 0, "audio": 0, "scalars": 0}).Reload()
    tags = ea.Tags()
    for tag in ("train/loss", "train/lr", "train/grad_norm", "train/steps_per_sec", "val/loss", "val/focus", "val/infer_focus", "val/infer_stop_ok"):
        assert tag in tags["scalars"], f"{tag} not logged"
    for tag in ("val/teacher_forced", "train/summary", "infer/0_alignment", "infer/0_mel"):
        assert tag in tags["images"], f"{tag} figure not logged"
    assert "infer/0_griffin_lim" in tags["audio"]
    assert [e.step for e in ea.Scalars("train/loss")] == [1, 2]
    assert (tmp_path / "run" / "history.json").is_file()


def test_validation_leaves_the_training_run_unchanged(corpus, tmp_path):
    """Validation draws its dropout inside a forked RNG: a run validated every step ends with the
    weights of a run never validated."""
    runs = {}
    for val_every in (0, 1):
        trainer = _trainer(corpus, tmp_path, name=f"val{val_every}", cfg=_cfg().override([f"train.val_every={val_every}"]))
        trainer.fit(max_steps=4)
        trainer.close()
        runs[val_every] = (_params(trainer.model), trainer.history)
    assert len(runs[1][1]["val"]) == 4 and not runs[0][1]["val"]
    for k, v in runs[0][0].items():
        assert torch.equal(v, runs[1][0][k]), f"{k} differs after validation"


def test_a_resumed_run_rewrites_the_tensorboard_steps_past_its_checkpoint(corpus, tmp_path):
    """Events an interrupted session logged after its last checkpoint are dropped on resume,
    so each step appears once in the curves."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    first = _trainer(corpus, tmp_path, tensorboard=True)  # checkpoints every 3 steps
    first.fit(max_steps=4)
    first.close()
    (tmp_path / "run" / "checkpoints" / "step_00000004.pt").unlink()  # as if killed before saving step 4
    second = _trainer(corpus, tmp_path, tensorboard=True)
    second.fit(max_steps=5, resume=True)
    second.close()
    ea = EventAccumulator(str(tmp_path / "run" / "tb"), size_guidance={"scalars": 0}).Reload()
    assert [e.step for e in ea.Scalars("train/loss")] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "override, message",
    [({"train.sampler": "shuffled"}, "unknown train.sampler 'shuffled'"), ({"train.batch_size": 0}, "train.batch_size must be >= 1"),
     ({"train.lr_schedule": "cosine"}, "unknown train.lr_schedule 'cosine'")],
)
def test_bad_training_settings_are_refused_before_training(corpus, tmp_path, override, message):
    with pytest.raises(ValueError, match=message):
        _trainer(corpus, tmp_path, cfg=_cfg(**override))


def test_learning_rate_follows_the_schedule(corpus, tmp_path):
    trainer = _trainer(corpus, tmp_path)
    trainer.fit(max_steps=6)
    lrs = [r["lr"] for r in trainer.history["train"]]
    lr = trainer.cfg.train.lr
    assert lrs[:2] == pytest.approx([lr, lr])  # constant before lr_decay_start=2
    assert lrs[2] == pytest.approx(lr) and lrs[5] == pytest.approx(lr * 0.5)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_epoch_batches_are_deterministic_and_cover_the_data():
    class _Lengths:
        lengths = [int(x) for x in torch.randint(20, 400, (23,), generator=torch.Generator().manual_seed(3))]

        def __len__(self):
            return 23

    ds = _Lengths()
    for sampler in ("random", "bucket", "sorted"):
        a = epoch_batches(ds, 4, sampler, seed=1, epoch=0)
        assert a == epoch_batches(ds, 4, sampler, seed=1, epoch=0)
        assert sorted(i for b in a for i in b) == list(range(23))
    assert epoch_batches(ds, 4, "random", 1, 0) != epoch_batches(ds, 4, "random", 1, 1)
    lengths = ds.lengths
    rnd = padding_fraction(epoch_batches(ds, 4, "random", 1, 0), lengths)
    bucket = padding_fraction(epoch_batches(ds, 4, "bucket", 1, 0), lengths)
    assert bucket < rnd
    with pytest.raises(ValueError, match="unknown sampler kind 'shuffled'"):
        epoch_batches(ds, 4, "shuffled", 1, 0)


def test_padding_fraction():
    assert padding_fraction([[0, 1]], [2, 4]) == pytest.approx(0.25)
    assert padding_fraction([[0], [1]], [2, 4]) == 0.0
    assert math.isclose(padding_fraction([[0, 1, 2]], [1, 1, 4]), 1 - 6 / 12)


def test_the_trainer_holds_its_folder_and_removes_only_its_own_temporaries(tmp_path):
    """From construction to close(): the run folder's lock (another process is refused,
    tests/test_faults.py), and the temporaries a killed save of config.yaml or
    history.json left are gone; anything else stays."""
    import os

    from tacolib import runlock

    out = tmp_path / "run"
    out.mkdir()
    theirs = [".notes.txt.abcdefgh.tmp", "history.json.tmp", ".history.json.tmp"]
    for name in [".history.json.abcdefgh.tmp", ".config.yaml.0123_xyz.tmp", *theirs]:
        (out / name).write_text("x")
    trainer = Trainer(get_config("tiny"), out, [None], [None], device="cpu", tensorboard=False, progress=False)
    assert runlock.holder(out)["pid"] == os.getpid()
    assert sorted(p.name for p in out.iterdir()) == sorted([*theirs, runlock.LOCK_NAME])
    trainer.close()
    assert runlock.holder(out) is None
