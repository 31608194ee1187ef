"""Shared pieces of the SpeechBrain and ESPnet tests: the error measure, test audio, and each toolkit's own
extractor with float64 constants, so that a float64 comparison measures the pipelines, not the toolkit's float32
constants."""
import torch

TOL = {torch.float64: 1e-9, torch.float32: 1e-4}


def rel(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """Max abs error over max abs reference (shapes must agree)."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    ours, ref = ours.detach().double(), ref.detach().double()
    return float((ours - ref).abs().max() / ref.abs().max())


def padded(waves) -> torch.Tensor:
    """A zero-padded batch ``(batch, time)`` of 1-D waveforms."""
    return torch.nn.utils.rnn.pad_sequence(list(waves), batch_first=True)


def audio(kind: str, request=None, sample_rate: int = 16000) -> torch.Tensor:
    """``"speech"``: the four utterances of the ``speech`` fixture (through pytest's ``request``), zero-padded
    ``(4, time)``; ``"noise"``: three 0.75 s uniform-noise items ``(3, time)``; float64."""
    if kind == "speech":
        return padded(request.getfixturevalue("speech")).double()
    gen = torch.Generator().manual_seed(0)
    return torch.rand(3, sample_rate * 3 // 4, generator=gen, dtype=torch.float64) * 2 - 1


def lengths_of(speech) -> torch.Tensor:
    return torch.tensor([w.shape[0] for w in speech])


def speechbrain_reference(cls, dtype: torch.dtype, **kw) -> torch.nn.Module:
    """SpeechBrain's feature maker ``cls(**kw)`` with its constants in ``dtype``, in eval mode.

    SpeechBrain builds its window, mel points, frequency axis, DCT matrix and context kernel with the default dtype
    when it is constructed (float32 unless changed), so a float64 comparison with its float32 constants would
    measure that rounding (~1e-6), not the agreement of the pipelines. Constructed under a float64 default they are
    float64; ``.to(dtype)`` then converts the one explicitly float32 buffer, the deltas kernel (the integers
    -2..2, exact in either dtype).
    """
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        module = cls(**kw)
    finally:
        torch.set_default_dtype(previous)
    return module.to(dtype).eval()


class _KeepFloat64(torch.Tensor):
    """A tensor whose ``.float()`` is itself: ESPnet's ``Stft`` runs ``torch.stft(input.float())`` (for cuFFT and
    bfloat16 input), so float64 audio would be rounded to float32 before the transform; through this one call the
    rest of ESPnet's code runs unchanged in float64."""

    def float(self, *args, **kwargs):
        return self


def espnet_reference(dtype: torch.dtype, **kw):
    """ESPnet2's ``DefaultFrontend(**kw)`` in eval mode, as a function ``(input, input_lengths) -> (feats,
    feats_lengths)`` that computes in ``dtype``.

    For float64: the mel matrix is librosa's, built as ESPnet builds it (``librosa.filters.mel(**mel_options)``)
    but with ``dtype=numpy.float64`` (librosa's default is float32, which ESPnet keeps), and the STFT's
    ``input.float()`` is skipped (see :class:`_KeepFloat64`).
    """
    import librosa
    import numpy as np
    from espnet2.asr.frontend.default import DefaultFrontend

    frontend = DefaultFrontend(**kw).eval()
    if dtype == torch.float32:
        return frontend
    mel = librosa.filters.mel(**frontend.logmel.mel_options, dtype=np.float64)  # (n_mels, n_freqs)
    frontend.logmel.melmat = torch.from_numpy(mel.T.copy())  # (n_freqs, n_mels)

    def run(x, lengths=None):
        feats, feats_lengths = frontend(x.double().as_subclass(_KeepFloat64), lengths)
        return feats.as_subclass(torch.Tensor), feats_lengths

    return run


def assert_float32_as_accurate(ours: torch.Tensor, ref32: torch.Tensor, ref64: torch.Tensor) -> None:
    """A float32 result against the toolkit's float64 run: within 1e-4, or within 1.5 times the toolkit's own float32
    error where that is larger.

    ESPnet's log has no floor but its 1e-10 clamp, so speech keeps mel bands 90-130 dB below the loudest band of their
    frame (digital silence around an onset, the band above a channel's low-pass). There float32 rounding of the
    transform and window (relative 1e-7 of the frame's peak) is a large part of the band's energy, and the log
    turns it into an absolute error of ~2e-3: on the speech fixture ESPnet's own float32 features are 1.01e-4 (of
    the maximum) from its float64 ones, and two float32 pipelines that round differently differ by up to 1.6e-4.
    Where the toolkit's float32 is itself within 1e-4 (noise: ~1e-6) this is the plain 1e-4 bound.
    """
    own = rel(ref32, ref64)
    assert rel(ours, ref64) <= max(TOL[torch.float32], 1.5 * own), (rel(ours, ref64), own)


def report() -> None:
    """Print the relative errors that the tests bound, on noise and on the speech fixture's utterances."""
    import pathlib
    import tempfile

    import soundfile
    from speechbrain.lobes.features import MFCC, Fbank

    from kfront import KaleidoFrontend, make_frontend
    from kfront.synth import CorpusConfig, generate_corpus

    with tempfile.TemporaryDirectory() as root:  # the corpus the ``speech`` fixture uses
        generate_corpus(root, CorpusConfig.tiny(seed=0), jobs=1, progress=False)
        paths = sorted(pathlib.Path(root).rglob("*.WAV"))[:4]
        speech = [torch.from_numpy(soundfile.read(p, dtype="float32")[0]) for p in paths]
    inputs = {"noise": audio("noise"), "speech": padded(speech).double()}
    lengths = {"noise": None, "speech": lengths_of(speech)}
    print(f"{'convention':18} {'audio':7} {'dtype':8} {'fixed twin':>11} {'Kaleido':>11} {'fixed/f64':>11} "
          f"{'Kaleido/f64':>11} {'toolkit/f64':>11}")

    def row(convention, kind, dt, fixed, kaleido, ref):
        """Errors against the toolkit in ``dt``; for float32 also against its float64 run, and its own error."""
        cells = [rel(fixed, ref[dt]), rel(kaleido, ref[dt])]
        f64 = ref[torch.float64]
        cells += [rel(fixed, f64), rel(kaleido, f64), rel(ref[dt], f64)] if dt == torch.float32 else [float("nan")] * 3
        print(f"{convention:18} {kind:7} {str(dt)[6:]:8} " + " ".join(f"{c:11.2e}" for c in cells))

    for convention, cls in (("speechbrain-fbank", Fbank), ("speechbrain-mfcc", MFCC)):
        output = convention.split("-")[1]
        for kind, x in inputs.items():
            ref = {dt: speechbrain_reference(cls, dt)(x.to(dt)) for dt in TOL}
            for dt in TOL:
                fixed = make_frontend(output, convention=convention, dtype=dt)(x.to(dt)).transpose(-1, -2)
                kaleido = KaleidoFrontend(convention=convention, dtype=dt)(x.to(dt)).transpose(-1, -2)
                row(convention, kind, dt, fixed, kaleido, ref)
    for kind, x in inputs.items():  # ESPnet: its valid frames (padding frames are zeroed by ESPnet and the adapter)
        n = lengths[kind] if lengths[kind] is not None else torch.full((x.shape[0],), x.shape[1])
        ref = {dt: espnet_reference(dt)(x.to(dt), n)[0] for dt in TOL}
        for dt in TOL:
            feats = []
            for fe in (make_frontend("fbank", convention="espnet", dtype=dt),
                       KaleidoFrontend(convention="espnet", dtype=dt)):
                out, frames = fe(x.to(dt), lengths=n)
                valid = (torch.arange(out.shape[-1]) < frames.unsqueeze(1)).unsqueeze(-1)
                feats.append(out.transpose(-1, -2) * valid)
            row("espnet", kind, dt, *feats, ref)
    print("(max abs error / max abs reference, against the toolkit run in the same dtype; its float64 run has "
          "float64 constants)")


if __name__ == "__main__":  # python tests/_speechbrain_espnet_cases.py
    report()
