"""tacolib.masks: the padding facts every layer shares (masks, ceil(L / r), stop targets)."""

from __future__ import annotations

import pytest
import torch

from tacolib.masks import decoder_lengths, lengths_to_mask, make_gate_targets


def test_lengths_to_mask_marks_real_positions():
    m = lengths_to_mask(torch.tensor([3, 1]), 4)
    assert m.dtype == torch.bool and m.tolist() == [[True, True, True, False], [True, False, False, False]]
    assert lengths_to_mask(torch.tensor([2, 5])).shape == (2, 5), "default width: the longest"
    assert lengths_to_mask(torch.zeros(0, dtype=torch.long)).shape == (0, 0)
    with pytest.raises(ValueError, match="1-D"):
        lengths_to_mask(torch.tensor([[3]]), 4)


def test_decoder_lengths_is_the_ceiling_of_frames_over_r():
    assert decoder_lengths(torch.tensor([7, 9, 1, 10]), 3).tolist() == [3, 3, 1, 4]
    assert int(decoder_lengths(11, 5)) == 3 and int(decoder_lengths(10, 5)) == 2, "a single count"
    assert decoder_lengths(torch.tensor([4]), 1).tolist() == [4]
    with pytest.raises(ValueError, match="r must be >= 1"):
        decoder_lengths(torch.tensor([4]), 0)


def test_gate_targets_fire_from_the_last_real_frame_on():
    g = make_gate_targets(torch.tensor([3, 1]), 4)
    assert g.dtype == torch.float32 and g.tolist() == [[0, 0, 1, 1], [1, 1, 1, 1]]
    with pytest.raises(ValueError, match="must be >= 1"):
        make_gate_targets(torch.tensor([0]), 4)


def test_a_collated_batch_uses_these_facts():
    from tacolib.config import get_config
    from tacolib.batching import collate

    cfg = get_config("tiny")
    r = cfg.model.r
    items = [{"id": str(n), "text": "a", "tokens": torch.tensor([5, 1]), "mel": torch.zeros(n, cfg.audio.n_mels)} for n in (7, 3 * r + 1)]
    batch = collate(items, cfg)
    T_out = batch["mel"].shape[1]
    assert T_out == 4 * r, "padded up to whole decoder steps"
    assert torch.equal(batch["mel_mask"], lengths_to_mask(batch["mel_lengths"], T_out))
    assert torch.equal(batch["gate_targets"], make_gate_targets(batch["mel_lengths"], T_out))
