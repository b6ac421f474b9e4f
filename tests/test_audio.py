"""The audio front end: agreement with librosa, scaling, inverse, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from tacolib import audio
from tacolib.config import AudioConfig


def _librosa_db(wav: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    import librosa

    S = librosa.feature.melspectrogram(
        y=wav, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
        n_mels=cfg.n_mels, fmin=cfg.mel_fmin, fmax=cfg.mel_fmax, power=1.0, pad_mode="reflect",
    )
    return S


@pytest.fixture
def speech(ljspeech_sample, paper_cfg):
    return audio.load_wav(ljspeech_sample / "wavs" / "LJ001-0001.wav", paper_cfg.audio.sample_rate)


def test_matches_librosa_on_real_speech(speech, paper_cfg):
    cfg = paper_cfg.audio
    S = _librosa_db(speech.numpy(), cfg)
    ours_mel = audio.linear_to_mel(audio.stft_magnitude(speech, cfg), cfg).numpy()
    # natural-log mel (NVIDIA's "dynamic range compression"), above the -80 dB bottom
    # of the scaled range; below it float32 FFT round-off reaches ~4e-4 and is clipped anyway
    keep = S >= 1e-4
    ln_err = np.abs(np.log(np.maximum(ours_mel, 1e-5)) - np.log(np.maximum(S, 1e-5)))[keep]
    assert ln_err.max() <= 1e-4, ln_err.max()
    # the scaled mel the model learns, everywhere
    import librosa

    ref_scaled = audio.normalize(torch.from_numpy(librosa.amplitude_to_db(S, amin=1e-5, top_db=None)), cfg).T
    assert (audio.mel_spectrogram(speech, cfg) - ref_scaled).abs().max().item() <= 1e-4


def test_matches_librosa_on_synthetic_tone():
    cfg = AudioConfig()
    t = np.arange(cfg.sample_rate) / cfg.sample_rate
    wav = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)
    S = _librosa_db(wav, cfg)
    ours = audio.linear_to_mel(audio.stft_magnitude(torch.from_numpy(wav), cfg), cfg).numpy()
    # float32 FFT round-off is relative to the peak: compare bins within 60 dB of it
    keep = S >= S.max() * 1e-3
    assert np.abs(np.log(ours[keep]) - np.log(S[keep])).max() <= 1e-4


def test_shapes_range_and_batching():
    cfg = AudioConfig()
    g = torch.Generator().manual_seed(0)
    wavs = 0.3 * torch.randn(3, 5000, generator=g)
    mel = audio.mel_spectrogram(wavs, cfg)
    assert mel.shape == (3, audio.num_frames(5000, cfg), cfg.n_mels)
    assert mel.min() >= -cfg.max_abs_value and mel.max() <= cfg.max_abs_value
    for i in range(3):  # batched == one at a time
        assert torch.allclose(mel[i], audio.mel_spectrogram(wavs[i], cfg), atol=1e-5)


def test_pad_value_is_just_below_the_minimum():
    cfg = AudioConfig()
    assert cfg.pad_value < -cfg.max_abs_value
    assert cfg.pad_value > -cfg.max_abs_value - 0.5
    silence = audio.mel_spectrogram(torch.zeros(4000), cfg)
    assert torch.all(silence == -cfg.max_abs_value)
    assert cfg.pad_value < silence.min().item()


def test_normalize_round_trip():
    cfg = AudioConfig()
    db = torch.linspace(cfg.min_level_db + cfg.ref_level_db, cfg.ref_level_db, 101)
    assert torch.allclose(audio.denormalize(audio.normalize(db, cfg), cfg), db, atol=1e-4)
    assert audio.normalize(torch.tensor([-500.0, 500.0]), cfg).tolist() == [-4.0, 4.0]


def test_mel_to_linear_inverts_the_filterbank_on_mel_shaped_spectra():
    cfg = AudioConfig()
    g = torch.Generator().manual_seed(0)
    mag = audio.stft_magnitude(0.3 * torch.randn(8000, generator=g), cfg)
    mel = audio.mel_spectrogram(0.3 * torch.randn(8000, generator=g), cfg)
    lin = audio.mel_to_linear(mel, cfg)
    assert lin.shape == (cfg.n_fft // 2 + 1, mel.shape[0]) and lin.min() >= 0
    # projecting back through the filterbank recovers the mel (above the clip floor)
    back = audio.normalize(audio.amp_to_db(audio.linear_to_mel(lin, cfg)), cfg).T
    loud = mel > -3.5
    assert (back[loud] - mel[loud]).abs().mean() < 0.15
    assert audio.mel_to_linear(mel.unsqueeze(0), cfg).shape == (1,) + tuple(lin.shape)
    assert mag.shape[0] == lin.shape[0]


def test_coarse_config_gives_fewer_frames():
    cfg = AudioConfig()
    wav = torch.randn(22050)
    assert audio.mel_spectrogram(wav, cfg.coarse(4)).shape[0] == audio.num_frames(22050, cfg.coarse(4))
    assert cfg.coarse(4).hop_length == 4 * cfg.hop_length
    with pytest.raises(ValueError):
        cfg.coarse(0)


# ---- files ---------------------------------------------------------------------------


def test_load_wav_downmixes_and_resamples(tmp_path):
    sr = 16000
    t = np.arange(sr) / sr
    stereo = np.stack([np.sin(2 * np.pi * 220 * t), np.zeros_like(t)], axis=1).astype(np.float32) * 0.5
    path = tmp_path / "stereo16k.wav"
    sf.write(path, stereo, sr)
    wav = audio.load_wav(path, sample_rate=22050)
    assert wav.dtype == torch.float32 and wav.dim() == 1
    assert abs(len(wav) - 22050) <= 2
    assert 0.2 < wav.abs().max() < 0.3  # (0.5 + 0) / 2


def test_load_wav_trims_silence(tmp_path):
    sr = 22050
    tone = 0.5 * np.sin(2 * np.pi * 300 * np.arange(sr // 2) / sr)
    sig = np.concatenate([np.zeros(sr), tone, np.zeros(sr)]).astype(np.float32)
    sf.write(tmp_path / "padded.wav", sig, sr)
    trimmed = audio.load_wav(tmp_path / "padded.wav", trim=True)
    assert len(trimmed) < 0.7 * sr


def test_save_then_load(tmp_path):
    wav = 0.5 * torch.sin(torch.linspace(0, 1000, 22050))
    p = audio.save_wav(tmp_path / "sub" / "x.wav", wav, 22050)
    back = audio.load_wav(p)
    assert torch.allclose(back, wav, atol=1e-4)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        audio.load_wav(tmp_path / "nope.wav")


def test_corrupt_file_names_it(tmp_path):
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEthis is not audio at all")
    with pytest.raises(audio.AudioError, match="corrupt.wav"):
        audio.load_wav(bad)


def test_empty_file_names_it(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 22050)
    with pytest.raises(audio.AudioError, match="empty.wav.*empty"):
        audio.load_wav(empty)


def test_all_silent_file_cannot_be_trimmed_to_nothing(tmp_path):
    p = tmp_path / "silent.wav"
    sf.write(p, np.zeros(22050, dtype=np.float32), 22050)
    with pytest.raises(audio.AudioError, match="silent.wav"):
        audio.load_wav(p, trim=True)


def test_empty_signal_is_a_clear_error():
    with pytest.raises(audio.AudioError, match="empty signal"):
        audio.mel_spectrogram(torch.zeros(0), AudioConfig())


@pytest.mark.parametrize("win_length", [1024, 800])
def test_stft_magnitude_equals_torch_stft(win_length):
    """The written-out STFT (frames, window, rfft) gives torch.stft's magnitudes, batched or not."""
    cfg = AudioConfig(n_fft=1024, hop_length=256, win_length=win_length)
    x = 0.3 * torch.randn(2, 5000, generator=torch.Generator().manual_seed(0))
    ref = torch.stft(x, 1024, 256, win_length, torch.hann_window(win_length), center=True, pad_mode="reflect", return_complex=True).abs()
    got = audio.stft_magnitude(x, cfg)
    assert got.shape == ref.shape == (2, 513, 1 + 5000 // 256)
    torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(audio.stft_magnitude(x[1], cfg), ref[1], atol=1e-4, rtol=1e-4)
    with pytest.raises(audio.AudioError, match="too short"):
        audio.stft_magnitude(torch.zeros(512), cfg)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_gpu():
    cfg = AudioConfig()
    wav = torch.randn(2, 8000)
    assert torch.allclose(audio.mel_spectrogram(wav.cuda(), cfg).cpu(), audio.mel_spectrogram(wav, cfg), atol=1e-4)


# ---- silent wrong results (issue 16) -------------------------------------------------------


def test_a_truncated_wav_is_refused_naming_the_file(tmp_path):
    full = tmp_path / "full.wav"
    sf.write(full, (0.3 * np.sin(np.arange(22050) / 10)).astype(np.float32), 22050, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[:20_000])
    assert sf.info(str(cut)).frames < 22050  # libsndfile alone quietly reads what is there
    with pytest.raises(audio.AudioError, match=r"cut.wav: truncated.*22050 samples.*9978") as err:
        audio.load_wav(cut)
    assert "\n" not in str(err.value)
    with pytest.raises(audio.AudioError, match="cut.wav: truncated"):
        audio.audio_info(cut)
    assert audio.audio_info(full).frames == 22050 and len(audio.load_wav(full)) == 22050


def test_a_wav_whose_header_leaves_the_length_open_is_not_called_truncated(tmp_path):
    """Streamed wavs (sox, ffmpeg to a pipe) write 0 or 0xFFFFFFFF as the data size."""
    full = tmp_path / "full.wav"
    sf.write(full, np.zeros(1000, dtype=np.float32), 22050, subtype="PCM_16")
    data = bytearray(full.read_bytes())
    pos = data.index(b"data")
    data[pos + 4 : pos + 8] = (0xFFFFFFFF).to_bytes(4, "little")
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(bytes(data))
    assert len(audio.load_wav(streamed)) == 1000


def test_float_samples_beyond_full_scale_are_scaled_back_with_a_warning(tmp_path, caplog):
    import logging

    loud = tmp_path / "loud.wav"
    sig = (6.0 * np.sin(2 * np.pi * 220 * np.arange(22050) / 22050)).astype(np.float32)
    sf.write(loud, sig, 22050, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, logger="tacolib.audio"):
        wav = audio.load_wav(loud)
    assert float(wav.abs().max()) == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(wav, torch.from_numpy(sig) / float(np.abs(sig).max()), atol=1e-6)  # scaled, not clipped
    assert "loud.wav" in caplog.text and "6.0" in caplog.text
    caplog.clear()
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, sig / 12, 22050, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, logger="tacolib.audio"):
        assert torch.allclose(audio.load_wav(quiet), torch.from_numpy(sig / 12))
    assert caplog.text == ""


def test_resampling_never_leaves_the_documented_range(tmp_path):
    square = np.sign(np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.float32) * 0.999
    sf.write(tmp_path / "square.wav", square, 16000, subtype="FLOAT")
    wav = audio.load_wav(tmp_path / "square.wav", sample_rate=22050)
    assert float(wav.abs().max()) <= 1.0


def test_save_wav_refuses_a_name_that_is_not_audio_and_writes_whole_files(tmp_path):
    for name in ("out.mp3", "out", "out.txt"):
        with pytest.raises(audio.AudioError, match=r"\.wav"):
            audio.save_wav(tmp_path / name, np.zeros(100), 22050)
    assert list(tmp_path.iterdir()) == []
    p = audio.save_wav(tmp_path / "a.flac", 0.1 * np.ones(100), 22050)
    assert sf.info(str(p)).format == "FLAC" and sorted(x.name for x in tmp_path.iterdir()) == ["a.flac"]
