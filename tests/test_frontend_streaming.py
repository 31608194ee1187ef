"""Streaming in chunks of any size gives the offline frames."""
import random

import pytest
import torch

from kfront import KaleidoFrontend

from _frontend_cases import SMALL, all_frontends


def _stream(fe, x, sizes):
    stream, parts, i = fe.stream(), [], 0
    while i < x.shape[-1]:
        n = next(sizes)
        parts.append(stream.push(x[..., i:i + n]))
        i += n
    parts.append(stream.flush())
    assert all(p.shape[:-1] == parts[0].shape[:-1] for p in parts)
    return torch.cat(parts, -1)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("hop", [16, 80])  # hop > n_fft skips samples between frames
def test_streaming_equals_offline(center, hop):
    rng = random.Random(0)
    frontends = all_frontends(center=center) if hop == 16 else \
        [KaleidoFrontend(**{**SMALL, "hop_length": hop}, center=center, real_input="packed")]
    for fe in frontends:
        x = torch.randn(2, 600)
        offline = fe(x)
        for sizes in ([1] * 600, [5000], [33, 1, 64, 2, 500], None):
            it = iter(sizes) if sizes else iter(lambda: rng.choice([1, 2, 3, 17, 31, 64, 100, 257]), None)
            online = _stream(fe, x, it)
            assert online.shape == offline.shape
            # The same ops on the same frames, but a BLAS may block a matmul of fewer rows differently (the DCT's
            # last bit moves on some CPUs): equal to float rounding, far below any framing or padding mistake.
            torch.testing.assert_close(online, offline, rtol=1e-6, atol=1e-6)


def test_streaming_errors_and_reuse():
    fe = KaleidoFrontend(**SMALL)
    stream = fe.stream()
    stream.push(torch.randn(2, 20))
    assert stream.push(torch.randn(2, 10)).shape == (2, 8, 0)  # 30 samples: left padding not known yet
    with pytest.raises(ValueError, match="30 samples"):
        stream.flush()  # offline would refuse 30 samples too
    with pytest.raises(ValueError, match="leading shape"):
        stream.push(torch.randn(2, 10))
        stream.push(torch.randn(3, 10))
    stream.reset()
    with pytest.raises(ValueError, match="non-finite"):
        stream.push(torch.full((5,), float("nan")))
    x = torch.randn(500)
    assert torch.equal(_stream(fe, x, iter([100] * 5)), fe(x))  # usable again after reset
