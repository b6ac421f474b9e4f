"""tacolib: a small, readable Tacotron 2 in PyTorch, and the library of the course.

Start with ``tacolib.get_config("tiny")`` and ``tacolib.setup(seed=0)``; the modules
follow the paper's data flow (see CONTRIBUTING.md): audio, text, data, batching, model,
loss, metrics, viz, train, vocoder.
"""

from tacolib.config import Config, get_config
from tacolib.runtime import data_dir, fast_mode, ljspeech_sample_dir, setup

__version__ = "0.1.0"
__all__ = ["Config", "get_config", "setup", "fast_mode", "data_dir", "ljspeech_sample_dir", "__version__"]
