"""``python -m kfront.core``: build the compiled butterfly ops now and print which backend each device uses, and
why.

Without a GPU (or a CUDA build of torch) only the CPU library is built; ``--cuda`` builds, links and loads the CUDA
library there too (nothing can run on it: a rehearsal of a GPU machine's build). On a CUDA device it also says
whether the Triton kernels and the CUDA C++ op are available, which of them ``KFRONT_BACKEND`` picks, and how to
pick the other. ``--strict`` makes a device left to the pure-PyTorch reference an error (exit status 1), for
set-up scripts and checks.
"""
import argparse
import sys
import time

import torch

from . import _backend, build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kfront.core",
                                     description="Build the compiled kfront butterfly ops and print the backend.")
    parser.add_argument("--verbose", action="store_true", help="show the compiler's output")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 if the compiled op is unavailable")
    parser.add_argument("--cuda", action="store_true",
                        help="build and load the CUDA library even where no GPU is visible (needs torch with CUDA)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    devices = ["cpu"] + (["cuda"] if args.cuda or torch.cuda.is_available() else [])
    ok = True
    for device in devices:
        _backend.ensure_loaded(device, verbose=args.verbose)
        name = _backend.backend(device)
        reason = _backend.backend_reason(device)
        print(f"kfront butterfly backend ({device}): {name}" + (f" ({reason})" if reason else ""))
        if device == "cuda":
            print(f"  {_cuda_choices()}")
        ok = ok and name != "reference"
    print(f"build directory: {build.build_dir('cpu').parent} ({time.perf_counter() - start:.1f} s)")
    return 0 if ok or not args.strict else 1


def _cuda_choices() -> str:
    """Both GPU implementations' state and which one KFRONT_BACKEND picks."""
    triton_reason = _backend._triton_unavailable("cuda")
    if triton_reason is None:
        import triton

        triton_state = f"Triton {triton.__version__} imports"
    else:
        triton_state = f"Triton unavailable ({triton_reason})"
    cpp_state = "the CUDA C++ op is built" if _backend.ensure_loaded("cuda") else \
        f"the CUDA C++ op is unavailable ({_backend._state['reason']['cuda']})"
    return (f"{triton_state}; {cpp_state}. KFRONT_BACKEND={_backend._mode()}: auto prefers Triton on CUDA devices "
            "(no compiler needed), else the C++ op; KFRONT_BACKEND=triton or cuda picks one")


if __name__ == "__main__":
    sys.exit(main())
