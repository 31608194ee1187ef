"""Features and gradients of every convention and adapter, saved to compare two versions of kfront bitwise.

    python tools/snapshot_features.py save before.pt     # with one version of kfront on PYTHONPATH
    python tools/snapshot_features.py save after.pt      # with the other
    python tools/snapshot_features.py compare before.pt after.pt

Each case builds a front-end through the public API (``KaleidoFrontend``, ``make_frontend``, the toolkit
adapters), runs it on fixed random audio, with and without lengths, in float32 and float64, and backpropagates a
fixed random cotangent; it records the features, the gradients of the audio and of every parameter, and the
resolved configuration. ``compare`` lists every tensor that is not bitwise equal (``torch.equal``, same dtype).
A BLAS may round a matmul of another number of rows differently, so both runs use the same inputs and shapes.
"""
import argparse
import dataclasses
import sys

import torch

import kfront
from kfront import KaleidoFrontend, make_frontend
from kfront.integrations.espnet import DefaultFrontend
from kfront.integrations.kaldi import KaldiFbank, KaldiMfcc
from kfront.integrations.speechbrain import MFCC as SBMFCC
from kfront.integrations.speechbrain import Fbank as SBFbank
from kfront.integrations.whisper import WhisperFrontend

#: convention -> (outputs it defines, audio scale, overrides that exercise its derived sizes)
CONVENTIONS = {
    "torchaudio": (("fbank", "mfcc"), 0.1, [{}, dict(win_length=None, hop_length=None, f_max=None),
                                             dict(sample_rate=8000, n_fft=256, win_length=200, hop_length=80)]),
    "kaldi-fbank": (("fbank",), 3000.0, [{}, dict(n_mels=80, snip_edges=False, f_max=-400.0, energy="prepend"),
                                         dict(sample_rate=8000), dict(sample_rate=44100)]),
    "kaldi-mfcc": (("mfcc",), 3000.0, [{}, dict(energy=None, sample_rate=8000), dict(snip_edges=False)]),
    "whisper": (("fbank",), 0.1, [{}, dict(n_mels=128)]),
    "speechbrain-fbank": (("fbank",), 0.1, [{}, dict(sample_rate=8000), dict(sample_rate=22050, n_fft=1024, f_max=None)]),
    "speechbrain-mfcc": (("mfcc",), 0.1, [{}, dict(sample_rate=8000)]),
    "espnet": (("fbank",), 0.1, [{}, dict(win_length=400, hop_length=160), dict(n_fft=400, f_max=None)]),
}
DTYPES = (torch.float32, torch.float64)
TIME = 6000


def _audio(scale: float, dtype: torch.dtype, time: int = TIME, batch: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(1234)
    return (torch.randn(batch, time, generator=g, dtype=torch.float64) * scale).to(dtype)


def _cotangent(like: torch.Tensor) -> torch.Tensor:
    g = torch.Generator().manual_seed(99)
    return torch.randn(like.shape, generator=g, dtype=torch.float64).to(like.dtype)


def _config_record(module) -> dict:
    """The resolved configuration of the front-end inside ``module`` (plain values; a window tensor as is)."""
    fe = module if hasattr(module, "config") else module.frontend
    return {f.name: getattr(fe.config, f.name) for f in dataclasses.fields(fe.config)}


def _run(module, wave: torch.Tensor, lengths=None, call=None) -> dict:
    """Features, gradients of the audio and of every parameter, for ``module(wave[, lengths])``."""
    wave = wave.clone().requires_grad_(wave.is_floating_point())
    out = call(module, wave) if call else (module(wave) if lengths is None else module(wave, lengths))
    feats = out[0] if isinstance(out, tuple) else out
    extra = out[1] if isinstance(out, tuple) else None
    feats.backward(_cotangent(feats))
    record = {"features": feats.detach(), "config": _config_record(module)}
    if extra is not None:
        record["second"] = extra.detach()
    if wave.grad is not None:
        record["grad:waveform"] = wave.grad
    for name, p in module.named_parameters():
        if p.grad is not None:
            record[f"grad:{name}"] = p.grad
    return record


def cases():
    """``(name, build, audio, lengths, call)`` for every case."""
    for convention, (outputs, scale, overrides) in CONVENTIONS.items():
        for output in outputs:
            for i, over in enumerate(overrides):
                for dtype in DTYPES:
                    d = str(dtype).split(".")[-1]
                    sr = over.get("sample_rate", 16000)
                    time = TIME * sr // 16000
                    wave = _audio(scale, dtype, time)
                    lengths = torch.tensor([time, time * 2 // 3])
                    out_arg = {"output": output} if len(outputs) > 1 else {}
                    builds = {
                        "kaleido": lambda: KaleidoFrontend(convention=convention, dtype=dtype, **out_arg, **over),
                        "kaleido-all": lambda: KaleidoFrontend(convention=convention, dtype=dtype, learn="all",
                                                               **out_arg, **over),
                        "fixed": lambda: make_frontend(output, convention=convention, dtype=dtype, **over),
                    }
                    if int(over.get("n_fft", 512 if convention in ("torchaudio", "espnet") else 400)) % 2 == 0:
                        builds["kaleido-packed"] = lambda: KaleidoFrontend(
                            convention=convention, dtype=dtype, real_input="packed", **out_arg, **over)
                    for kind, build in builds.items():
                        base = f"{convention}/{output}/{i}/{kind}/{d}"
                        yield base, build, wave[0], None, None
                        yield base + "/lengths", build, wave, lengths, None
    yield from adapter_cases()


def adapter_cases():
    for dtype in DTYPES:
        d = str(dtype).split(".")[-1]
        pcm_float = _audio(3000.0, dtype).round()
        unit = _audio(0.1, dtype).clamp(-1, 1)
        lengths = torch.tensor([TIME, 4000])
        for learnable in (True, False):
            tag = f"{'learnable' if learnable else 'fixed'}/{d}"
            kaldi = {
                "kaldi-fbank-int16": lambda: KaldiFbank(sample_format="int16", learnable=learnable, dtype=dtype),
                "kaldi-fbank-icefall": lambda: KaldiFbank.icefall(learnable=learnable, dtype=dtype),
                "kaldi-fbank-energy": lambda: KaldiFbank(sample_format="float", use_energy=True, raw_energy=False,
                                                         window_type="hamming", learnable=learnable, dtype=dtype),
                "kaldi-fbank-wenet": lambda: KaldiFbank.wenet(learnable=learnable, dtype=dtype),
                "kaldi-mfcc": lambda: KaldiMfcc(sample_format="int16", learnable=learnable, dtype=dtype),
                "kaldi-mfcc-noenergy": lambda: KaldiMfcc(sample_format="float", use_energy=False, num_ceps=20,
                                                         cepstral_lifter=0.0, blackman_coeff=0.4,
                                                         window_type="blackman", learnable=learnable, dtype=dtype),
                "kaldi-compliance": lambda: KaldiFbank.from_compliance(
                    num_mel_bins=40, frame_length=20, frame_shift=8, dither=0.0, sample_frequency=8000,
                    sample_format="float", learnable=learnable, dtype=dtype),
            }
            for name, build in kaldi.items():
                audio = pcm_float if name in ("kaldi-fbank-int16", "kaldi-mfcc") else unit
                yield f"adapter/{name}/{tag}", build, audio[0], None, None
                yield f"adapter/{name}/{tag}/lengths", build, audio, lengths, None
                yield f"adapter/{name}/{tag}/list", build, audio, None, \
                    lambda m, w: torch.cat(m([w[0], w[1, :4000]]), 0)
            whisper = {"whisper": lambda: WhisperFrontend(learnable=learnable, dtype=dtype),
                       "whisper-longest": lambda: WhisperFrontend(learnable=learnable, dtype=dtype,
                                                                  padding="longest", do_normalize=True,
                                                                  return_attention_mask=True)}
            for name, build in whisper.items():
                yield f"adapter/{name}/{tag}", build, unit, None, None
                yield f"adapter/{name}/{tag}/lengths", build, unit, lengths, None
            sb = {"sb-fbank": lambda: SBFbank(learnable=learnable, dtype=dtype),
                  "sb-fbank-ctx": lambda: SBFbank(deltas=True, context=True, requires_grad=learnable,
                                                  learnable=learnable, dtype=dtype, n_mels=24),
                  "sb-mfcc": lambda: SBMFCC(learnable=learnable, dtype=dtype)}
            for name, build in sb.items():
                yield f"adapter/{name}/{tag}", build, unit, None, None
                yield f"adapter/{name}/{tag}/lengths", build, unit, None, \
                    lambda m, w: m(w, torch.tensor([1.0, 4000 / TIME], dtype=w.dtype))
            espnet = {"espnet": lambda: DefaultFrontend(learnable=learnable, dtype=dtype),
                      "espnet-normalized": lambda: DefaultFrontend(fs="8k", n_fft=256, hop_length=64, window="hamming",
                                                                   normalized=True, htk=True, fmin=50, fmax=3800,
                                                                   learnable=learnable, dtype=dtype)}
            for name, build in espnet.items():
                yield f"adapter/{name}/{tag}", build, unit, None, None
                yield f"adapter/{name}/{tag}/lengths", build, unit, lengths, None


def save(path: str) -> None:
    torch.manual_seed(0)
    records = {}
    for name, build, wave, lengths, call in cases():
        torch.manual_seed(0)
        records[name] = _run(build(), wave, lengths, call)
    torch.save(records, path)
    print(f"{len(records)} cases from kfront at {kfront.__file__} -> {path}")


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype \
            and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def compare(before_path: str, after_path: str) -> int:
    before, after = torch.load(before_path), torch.load(after_path)
    problems = [f"missing case {name}" for name in before if name not in after]
    problems += [f"new case {name}" for name in after if name not in before]
    tensors = 0
    for name in before.keys() & after.keys():
        b, a = before[name], after[name]
        if b.keys() != a.keys():
            problems.append(f"{name}: recorded {sorted(b)} before, {sorted(a)} after")
        for key in b.keys() & a.keys():
            tensors += isinstance(b[key], torch.Tensor)
            if not _same(b[key], a[key]):
                problems.append(f"{name}: {key} differs")
    print(f"{len(before)} cases, {tensors} tensors compared: "
          + ("all bitwise equal" if not problems else f"{len(problems)} differences"))
    for line in sorted(problems):
        print("  " + line)
    return 1 if problems else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("save").add_argument("path")
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("after")
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.command == "save":
        save(args.path)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
