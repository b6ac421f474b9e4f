"""Tacotron 2's feature prediction network, one box per module.

==============================  =============================================
``Encoder``                      characters -> memory ``(B, T_in, d_enc)``
``LocationSensitiveAttention``   which characters to read at this step
``Prenet``                       bottleneck for the previous frame (dropout always on)
``ZoneoutLSTMCell``              LSTM cell with zoneout on its carried state
``Decoder``                      the autoregressive loop, r frames per step
``Postnet``                      convolutional residual correction of the mel
``Tacotron2``                    all of the above, built from a ``Config``
``set_fast_paths``               fast twins of the readable training loops on/off
``readable_paths``               (context manager) run the readable loops
``quantize_decoder``             int8 decoder LSTMs for fast CPU inference
==============================  =============================================
"""

from tacolib.model.attention import LocationLayer, LocationSensitiveAttention
from tacolib.model.decoder import Decoder
from tacolib.model.encoder import Encoder
from tacolib.model.int8 import quantize_decoder
from tacolib.model.postnet import Postnet
from tacolib.model.prenet import Prenet
from tacolib.model.tacotron2 import Tacotron2, readable_paths, set_fast_paths
from tacolib.model.zoneout import ZoneoutLSTMCell

__all__ = [
    "Encoder",
    "LocationLayer",
    "LocationSensitiveAttention",
    "Prenet",
    "ZoneoutLSTMCell",
    "Decoder",
    "Postnet",
    "Tacotron2",
    "quantize_decoder",
    "readable_paths",
    "set_fast_paths",
]
