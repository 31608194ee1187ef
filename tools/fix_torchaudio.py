"""Make torchaudio importable next to a torch that has no CUDA.

Every torchaudio wheel on the package index is a CUDA build: its compiled libraries link against
``libtorch_cuda.so``, which a CPU build of torch does not ship, so ``import torchaudio`` fails. Without those
libraries torchaudio falls back to its pure-Python paths, which is all kfront uses (``transforms``,
``compliance.kaldi``, ``functional``). So, only where torch has no CUDA and the import fails for that reason,
the bundled libraries are moved aside (``lib/disabled/``), never deleted, so the change can be undone.
"""
import importlib.util
import pathlib
import subprocess
import sys


def _import_ok() -> tuple[bool, str]:
    proc = subprocess.run([sys.executable, "-c", "import torchaudio"], capture_output=True, text=True)
    return proc.returncode == 0, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""


def main() -> int:
    import torch

    ok, err = _import_ok()
    if ok:
        return 0
    if torch.version.cuda is not None:
        print(f"torchaudio does not import next to a CUDA torch; not touching it: {err}", file=sys.stderr)
        return 1
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or spec.origin is None:
        print("torchaudio is not installed", file=sys.stderr)
        return 1
    lib = pathlib.Path(spec.origin).parent / "lib"
    disabled = lib / "disabled"
    disabled.mkdir(exist_ok=True)
    moved = [so.name for so in sorted(lib.glob("*.so"))]
    for name in moved:
        (lib / name).rename(disabled / name)
    ok, err = _import_ok()
    if not ok:
        print(f"torchaudio still fails to import after disabling {moved}: {err}", file=sys.stderr)
        return 1
    print(f"torch has no CUDA: disabled torchaudio's CUDA-linked libraries {moved}; "
          "torchaudio runs its pure-Python paths", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
