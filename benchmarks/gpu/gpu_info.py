"""What run_gpu_checks.sh asks of the Python it runs: the GPU present, in one line each.

    python gpu_info.py arch     # compute capability for TORCH_CUDA_ARCH_LIST, e.g. 9.0; exit 3 without a GPU
    python gpu_info.py slug     # the GPU's name for file names, e.g. nvidia-h200
    python gpu_info.py env      # python, torch, CUDA and the device, for the log
"""
import re
import sys

NO_GPU = 3


def main(argv: list[str]) -> int:
    import torch

    what = argv[0] if argv else "env"
    if what == "env":
        name = torch.cuda.get_device_name() if torch.cuda.is_available() else None
        print(f"python {sys.version.split()[0]} torch {torch.__version__} cuda {torch.version.cuda} device {name}")
        return 0
    if not torch.cuda.is_available():
        print(f"no CUDA device visible to torch {torch.__version__} (CUDA {torch.version.cuda})", file=sys.stderr)
        return NO_GPU
    if what == "arch":
        print("%d.%d" % torch.cuda.get_device_capability())
    elif what == "slug":
        print(re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name().lower()).strip("-"))
    else:
        print(f"unknown query {what!r}: arch, slug or env", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
