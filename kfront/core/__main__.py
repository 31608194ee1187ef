"""``python -m kfront.core``: build the compiled butterfly ops now and print which backend each device uses.

Without a GPU (or a CUDA build of torch) only the CPU library is built; ``--cuda`` builds, links and loads the CUDA
library there too (nothing can run on it: a rehearsal of a GPU machine's build). ``--strict`` makes an
unavailable compiled op an error (exit status 1), for set-up scripts and checks.
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
        ok = ok and name == "compiled"
    print(f"build directory: {build.build_dir('cpu').parent} ({time.perf_counter() - start:.1f} s)")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
