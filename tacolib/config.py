"""Configuration: one dataclass per concern, named presets, JSON/YAML round trip.

Every other module reads its numbers from here, so a run is fully described by one
:class:`Config`. Presets:

``paper``
    The Tacotron 2 paper's feature prediction network (Shen et al. 2018) with the
    audio front end of NVIDIA's public implementation: 22,050 Hz, n_fft 1024,
    hop 256, 80 mels in 0-8 kHz, 512-d encoder, two 1024-d decoder LSTMs, r = 1.
    About 28 M parameters; meant for a GPU and the full LJSpeech corpus.
``tiny``
    The course preset: every box of the paper, at widths a 2-core laptop trains in
    minutes, with the tricks that make it align quickly on CPU (several frames per
    decoder step, guided attention, a higher learning rate). See notebook 08.

Values are checked against the fields' types wherever a config is built
(:meth:`Config.from_dict`, :meth:`Config.load`, :meth:`Config.override`): a wrong
kind (``model.r=[1,2]``, ``train.lr=fast``) or an unknown key (the close matches
suggested) is one ``ValueError`` naming ``section.key``; YAML is read with
``safe_load`` only, so a tag such as ``!!python/object`` is refused, never run.

Examples
--------
>>> cfg = get_config("tiny")
>>> cfg = cfg.override(["train.lr=1e-3", "model.r=2"])
>>> cfg.save("run/config.yaml"); Config.load("run/config.yaml") == cfg
True
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tacolib.config_values import coerce_value, did_you_mean, parse_value, plain_containers, replace_checked, safe_yaml
from tacolib.symbols import symbol_table


@dataclass
class AudioConfig:
    """How waveforms become (scaled log-)mel spectrograms and back.

    Attributes
    ----------
    sample_rate : int
        Hz. Every wav is resampled to this rate on load.
    n_fft, win_length, hop_length : int
        STFT size, window length and hop, in samples (46 ms / 11.6 ms at 22,050 Hz).
    n_mels : int
        Mel channels per frame.
    mel_fmin, mel_fmax : float
        Hz range covered by the mel filterbank.
    min_level_db, ref_level_db : float
        dB window kept by the scaling: ``ref_level_db - min_level_db`` dB below the
        reference maps to ``-max_abs_value``, the reference to ``+max_abs_value``.
    max_abs_value : float
        Scaled mels live in ``[-max_abs_value, max_abs_value]`` (the seed: [-4, 4]).
    pad_margin : float
        Padded frames get ``-max_abs_value - pad_margin``: just below every real
        frame, so the model can tell padding from silence.
    trim_silence : bool
        Trim leading/trailing silence quieter than ``trim_top_db`` on load.
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    mel_fmin: float = 0.0
    mel_fmax: float = 8000.0
    min_level_db: float = -100.0
    ref_level_db: float = 20.0
    max_abs_value: float = 4.0
    pad_margin: float = 0.1
    trim_silence: bool = True
    trim_top_db: float = 40.0

    @property
    def pad_value(self) -> float:
        """Value of padded mel frames, just below the scaled minimum."""
        return -self.max_abs_value - self.pad_margin

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop_length

    def coarse(self, factor: int) -> "AudioConfig":
        """The seed's large-FFT trick: window, FFT and hop ``factor`` times larger.

        Spectrograms get ``factor`` times fewer frames, so each training step is
        cheaper and the decoder needs fewer steps; audio quality drops.
        """
        if factor < 1:
            raise ValueError(f"coarse factor must be >= 1, got {factor}")
        return dataclasses.replace(
            self,
            n_fft=self.n_fft * factor,
            win_length=self.win_length * factor,
            hop_length=self.hop_length * factor,
        )


@dataclass
class TextConfig:
    """Text front end.

    Attributes
    ----------
    input : str
        What the model reads: ``"chars"`` (normalized characters) or ``"phonemes"``
        (espeak-ng's phonemes of them, :mod:`tacolib.text.phonemes`). Each has its own
        symbol table (:mod:`tacolib.symbols`), so the model's embedding size follows it.
    add_eos : bool
        Append the end-of-sequence symbol to every token sequence.
    max_text_len : int
        Longest accepted input, in symbols (characters or phonemes, stress marks
        included) after normalization; longer text is
        refused by ``Tacotron2.inference`` with a clear error.
    normalizer : str
        ``"tacolib"`` (the course's rules) or ``"nemo"`` (``pip install -e ".[nemo]"``).
    date_order : str
        ``"mdy"``: 7/4/2019 is July 4 (US); ``"dmy"``: it is 7 April.
    number_and : bool
        "one hundred and five" instead of "one hundred five".
    number_hyphens : bool
        "twenty-five" instead of "twenty five". See :mod:`tacolib.text.style`.
    """

    input: str = "chars"
    add_eos: bool = True
    max_text_len: int = 300
    normalizer: str = "tacolib"
    date_order: str = "mdy"
    number_and: bool = False
    number_hyphens: bool = True

    @property
    def n_symbols(self) -> int:
        """Vocabulary size of :attr:`input`'s symbol table, padding included (id 0)."""
        return len(symbol_table(self.input))


@dataclass
class ModelConfig:
    """Widths and switches of the feature prediction network (paper defaults).

    ``init`` picks how the weights start: ``"xavier"`` (Xavier-uniform scaled for the
    following nonlinearity, the seed's advice; :mod:`tacolib.model.layers`) or
    ``"default"`` (what PyTorch's layers draw on their own; notebook 08 measures both).
    """

    symbols_embedding_dim: int = 512
    # encoder: conv stack + bidirectional LSTM (each direction gets half)
    encoder_n_convs: int = 3
    encoder_kernel_size: int = 5
    encoder_embedding_dim: int = 512
    encoder_dropout: float = 0.5
    # location-sensitive attention
    attention_dim: int = 128
    attention_location_n_filters: int = 32
    attention_location_kernel_size: int = 31
    # decoder
    r: int = 1  # mel frames predicted per decoder step (reduction factor)
    prenet_dim: int = 256
    prenet_dropout: float = 0.5
    attention_rnn_dim: int = 1024
    decoder_rnn_dim: int = 1024
    zoneout: float = 0.1
    learn_initial_states: bool = False
    gate_threshold: float = 0.5
    max_decoder_steps: int = 1000
    fast_paths: bool = True  # fast twins of the decoder's teacher-forced loop, the encoder's BiLSTM and the postnet's layers (same numbers); False: the readable ones
    # postnet
    postnet_embedding_dim: int = 512
    postnet_kernel_size: int = 5
    postnet_n_convs: int = 5
    postnet_dropout: float = 0.5
    # how the weights start
    init: str = "xavier"  # "xavier" | "default"


@dataclass
class TrainConfig:
    """Optimisation, losses, logging and checkpoints."""

    seed: int = 1234
    batch_size: int = 64
    max_steps: int = 200_000
    lr: float = 1e-3
    lr_schedule: str = "exponential"  # "none" | "exponential" | "noam"
    lr_decay_start: int = 50_000  # constant lr before this step (the seed's advice)
    lr_decay_rate: float = 0.5  # exponential: lr halves every lr_decay_steps
    lr_decay_steps: int = 50_000
    lr_min: float = 1e-5
    warmup_steps: int = 4000  # noam only
    weight_decay: float = 1e-6
    grad_clip: float = 1.0
    adam_betas: tuple = (0.9, 0.999)
    adam_eps: float = 1e-6
    amp: bool = False  # mixed precision, CUDA only
    gate_pos_weight: float = 1.0  # BCE pos_weight for the rare "stop" frames
    guided_attention_weight: float = 0.0  # 0 disables it (the paper does not use it)
    guided_attention_sigma: float = 0.2
    guided_attention_decay: float = 1.0  # weight *= decay every step
    sampler: str = "bucket"  # "random" | "bucket" | "sorted"
    num_workers: int = 0
    log_every: int = 50
    val_every: int = 1000
    ckpt_every: int = 1000
    keep_last: int = 3


@dataclass
class DataConfig:
    """Which corpus to train on, and how much of it.

    Attributes
    ----------
    max_mel_frames : int
        Skip utterances longer than this many mel frames; 0 keeps all.
    max_seconds : float
        Skip clips longer than this (seconds, from the wav header), logged by name: a
        stray 10-minute recording is never trained on as one sentence. LJSpeech's
        longest clip is 10.1 s; 0 keeps all.
    """

    corpus: str = "tinyspeech"  # "tinyspeech" | "ljspeech" | "custom" (your recordings at data.path)
    path: str = ""  # empty: the default folder under the data directory
    size: str = "full"  # TinySpeech size: "full" | "fast"
    val_fraction: float = 0.05
    max_mel_frames: int = 0  # drop longer utterances; 0 keeps all
    max_seconds: float = 20.0  # drop longer clips; 0 keeps all


@dataclass
class Config:
    """A whole run: ``audio``, ``text``, ``model``, ``train`` and ``data``."""

    name: str = "paper"
    audio: AudioConfig = field(default_factory=AudioConfig)
    text: TextConfig = field(default_factory=TextConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)

    # ---- serialization -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        """Build a Config from a (possibly partial) nested dict.

        Raises
        ------
        ValueError
            An unknown section or key (close matches suggested), or a value of the wrong
            type; the message names ``section.key``.
        """
        if not isinstance(d, dict):
            raise ValueError(f"a config must be a mapping of sections, got {type(d).__name__}")
        d = dict(d)
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in d:
                continue
            value = d.pop(f.name)
            sub = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
            if dataclasses.is_dataclass(sub):
                value = replace_checked(sub, value, f.name)
            else:
                value = coerce_value(f.name, value, typing.get_type_hints(cls)[f.name], getattr(cls, f.name, None))
            kwargs[f.name] = value
        if d:
            unknown = sorted(map(str, d))
            raise ValueError(f"unknown config section(s) {unknown}{did_you_mean(unknown[0], [f.name for f in fields(cls)])}; expected {[f.name for f in fields(cls)]}")
        return cls(**kwargs)

    def save(self, path: str | Path) -> None:
        """Write as YAML (``.yaml``/``.yml``) or JSON (anything else), atomically.

        A full or unwritable disk raises :class:`tacolib.safe_io.OutputError` (one line)
        and keeps the previous file.
        """
        from tacolib.safe_io import atomic_write

        path = Path(path)
        d = self.to_dict()
        if path.suffix in (".yaml", ".yml"):
            import yaml

            atomic_write(path, yaml.safe_dump(plain_containers(d), sort_keys=False))
        else:
            atomic_write(path, json.dumps(d, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "Config":
        """Read a file written by :meth:`save` (YAML for ``.yaml``/``.yml``, else JSON).

        Raises
        ------
        FileNotFoundError
            No such file.
        ValueError
            Not UTF-8, not valid YAML/JSON (a YAML tag included), or a config error
            (see :meth:`from_dict`): one line naming the file, and the line or key.
        """
        from tacolib.safe_io import read_text

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        text = read_text(path)
        if path.suffix in (".yaml", ".yml"):
            d = safe_yaml(text, str(path))
        else:
            try:
                d = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: not valid JSON ({e.msg}, line {e.lineno} column {e.colno})") from None
        if not isinstance(d, dict):
            raise ValueError(f"{path}: expected a mapping at the top level, got {type(d).__name__}")
        try:
            return cls.from_dict(d)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    # ---- overrides -----------------------------------------------------------
    def override(self, assignments: list[str] | dict[str, Any]) -> "Config":
        """Return a copy with ``section.key=value`` assignments applied.

        Text values are read as YAML (``1e-3``, ``true``, ``[0.9, 0.99]``; ``safe_load``
        only) and typed like the field: ``1e-3`` is a float for ``train.lr``, ``8.0`` an
        int for ``train.batch_size``, and a text field keeps the text as written
        (``data.path=010``). This is the one definition the command line's ``--set``
        uses too.

        Raises
        ------
        ValueError
            One line: a malformed assignment, an unknown section or key (with the close
            matches), a value of the wrong type, or one that is not plain YAML.
        """
        if isinstance(assignments, dict):
            items = list(assignments.items())
        else:
            items = []
            for a in assignments:
                if "=" not in a:
                    raise ValueError(f"{a!r} is not of the form section.key=value")
                k, text = (x.strip() for x in a.split("=", 1))
                items.append((k, parse_value(k, text, self._field_type(k))))
        d = self.to_dict()
        for key, value in items:
            self._field_type(key)  # unknown keys raise
            if key == "name":
                d["name"] = value
            else:
                section, k = key.split(".")
                d[section][k] = value
        return Config.from_dict(d)

    def _field_type(self, key: str) -> type:
        """The declared type of ``section.key`` (or ``name``); unknown keys raise, naming close matches."""
        if key == "name":
            return str
        sections = [f.name for f in fields(self) if dataclasses.is_dataclass(getattr(self, f.name))]
        parts = key.split(".")
        if len(parts) != 2 or parts[0] not in sections:
            hint = did_you_mean(parts[0], sections) if len(parts) == 2 else ""
            raise ValueError(f"unknown config key {key!r}{hint}; sections are {sections}, keys are written section.key")
        section, k = parts
        hints = typing.get_type_hints(type(getattr(self, section)))
        if k not in hints:
            raise ValueError(f"unknown key {k!r} in section {section!r}{did_you_mean(k, list(hints))}; valid keys: {sorted(hints)}")
        return hints[k]


# ---- presets -------------------------------------------------------------------


def _paper() -> Config:
    return Config(name="paper")


def _tiny() -> Config:
    """The CPU course preset: all the paper's boxes, narrow, and tuned to align fast."""
    return Config(
        name="tiny",
        audio=AudioConfig(),
        model=ModelConfig(
            symbols_embedding_dim=128,
            encoder_embedding_dim=128,
            attention_dim=64,
            attention_location_n_filters=16,
            attention_location_kernel_size=15,
            r=5,  # 5 frames per step: free running keeps the pace (r = 3 drifted ~5 % fast, r = 4 let single sentences wander; notebook 09)
            prenet_dim=128,
            attention_rnn_dim=256,
            decoder_rnn_dim=256,
            max_decoder_steps=400,
            postnet_embedding_dim=128,
        ),
        train=TrainConfig(
            batch_size=16,
            max_steps=3000,
            lr=2e-3,
            lr_decay_start=1500,
            lr_decay_steps=1500,
            gate_pos_weight=5.0,  # one "stop" frame per utterance: weigh it up (measured in notebook 07)
            guided_attention_weight=1.0,
            guided_attention_sigma=0.2,
            log_every=25,
            val_every=250,
            ckpt_every=250,
        ),
        data=DataConfig(corpus="tinyspeech"),
    )


PRESETS = {"paper": _paper, "tiny": _tiny}


def get_config(name: str = "tiny") -> Config:
    """Return a fresh copy of a named preset (``paper`` or ``tiny``)."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
