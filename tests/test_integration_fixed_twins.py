"""Every toolkit adapter builds its front-end through one function: learnable -> KaleidoFrontend, else the fixed
twin, and K-matrix arguments given to a fixed twin are refused with one message."""
import pytest

from kfront import MFCC, Fbank, KaleidoFrontend
from kfront.integrations.espnet import DefaultFrontend
from kfront.integrations.kaldi import KaldiFbank, KaldiMfcc
from kfront.integrations.speechbrain import MFCC as SpeechBrainMFCC
from kfront.integrations.speechbrain import Fbank as SpeechBrainFbank
from kfront.integrations.whisper import WhisperFrontend

ADAPTERS = {
    "kaldi-fbank": (lambda **kw: KaldiFbank(sample_format="float", **kw), Fbank),
    "kaldi-mfcc": (lambda **kw: KaldiMfcc(sample_format="int16", **kw), MFCC),
    "whisper": (WhisperFrontend, Fbank),
    "speechbrain-fbank": (SpeechBrainFbank, Fbank),
    "speechbrain-mfcc": (SpeechBrainMFCC, MFCC),
    "espnet": (DefaultFrontend, Fbank),
}


@pytest.mark.parametrize("name", ADAPTERS)
def test_learnable_or_fixed_twin(name):
    build, twin = ADAPTERS[name]
    assert type(build().frontend) is KaleidoFrontend and type(build(learnable=False).frontend) is twin
    assert build().frontend.convention == build(learnable=False).frontend.convention == name


@pytest.mark.parametrize("name", ADAPTERS)
def test_kmatrix_arguments_to_a_fixed_twin_one_message(name):
    build, twin = ADAPTERS[name]
    with pytest.raises(ValueError, match=f"^learnable=False builds the fixed {twin.__name__}, which has no K-matrix "
                                         "or learnable stage: it takes no kmatrix_width=2, real_input='packed'; "
                                         "pass learnable=True to use them$"):
        build(learnable=False, kmatrix_width=2, real_input="packed")
