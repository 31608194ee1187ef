"""Adapters that put a kfront front-end where a toolkit expects its own, called the way that toolkit calls it:
:mod:`~kfront.integrations.kaldi` (k2, icefall, lhotse, sherpa, kaldifeat, WeNet), :mod:`~kfront.integrations.whisper`
(``transformers``), :mod:`~kfront.integrations.speechbrain`, :mod:`~kfront.integrations.espnet`. None imports its
toolkit."""
