"""Adapters that put a kfront front-end where a toolkit expects its own, called the way that toolkit calls it.

One module per toolkit, each importable without the toolkit itself (none of them imports it at import time):

- :mod:`kfront.integrations.kaldi`: Kaldi fbank / MFCC for k2, icefall, lhotse, sherpa, kaldifeat users;
- :mod:`kfront.integrations.whisper`: Whisper's ``input_features`` for ``transformers`` Whisper models;
- :mod:`kfront.integrations.speechbrain`: SpeechBrain's ``Fbank`` / ``MFCC`` (``(batch, time, features)``,
  relative ``wav_lens``), usable from HyperPyYAML;
- :mod:`kfront.integrations.espnet`: an ESPnet2 frontend (``(input, input_lengths) -> (feats, feats_lengths)``,
  ``output_size()``).

Each adapter holds a :class:`~kfront.KaleidoFrontend` (learnable, the toolkit's features at initialisation) or,
with ``learnable=False``, its fixed twin.
"""
