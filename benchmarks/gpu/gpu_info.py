"""What run_gpu_checks.sh asks of the Python it runs: the GPU present, in one line each; and, for its no-device
mode (a rehearsal on a machine without a GPU), the checks that stand in for a stage.

    python gpu_info.py arch     # compute capability for TORCH_CUDA_ARCH_LIST, e.g. 9.0; exit 3 without a GPU
    python gpu_info.py slug     # the GPU's name for file names, e.g. nvidia-h200
    python gpu_info.py env      # python, torch, CUDA and the device, for the log
    python gpu_info.py device   # "arch slug name" in one line (one torch import for the three); exit 3 without
    python gpu_info.py parse SCRIPT [ARGS...]   # import SCRIPT and parse ARGS with its own parser; run nothing
    python gpu_info.py sanitizer compute-sanitizer [OPTIONS...] PYTHON SCRIPT [ARGS...]
                                # compute-sanitizer accepts OPTIONS, and SCRIPT its ARGS (without a device)
"""
import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

NO_GPU = 3


class _Parsed(Exception):
    """Raised by the patched parse_args once the script's arguments are parsed: nothing after it runs."""

    def __init__(self, namespace):
        super().__init__()
        self.namespace = namespace


def parse_only(script: str, args: list[str]) -> int:
    """Import ``script`` (every module it imports at the top is imported too) and call its ``main(args)`` up to its
    ``ArgumentParser.parse_args``; prints the parsed arguments. Exit status 2 on bad arguments, as argparse's."""
    path = Path(script)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(self, *a, **kw):
        raise _Parsed(original(self, *a, **kw))

    argparse.ArgumentParser.parse_args = parse_and_stop
    try:
        module.main(args)
    except _Parsed as parsed:
        here = str(Path.cwd()) + "/"
        given = " ".join(f"{k}={v}".replace(here, "") for k, v in vars(parsed.namespace).items())  # paths as given
        print(f"{path.name}: imported; arguments parsed: {given}")
        return 0
    finally:
        argparse.ArgumentParser.parse_args = original
    print(f"{path.name}: main() returned without parsing its arguments", file=sys.stderr)
    return 1


def sanitizer_syntax(command: list[str]) -> int:
    """Without a device compute-sanitizer parses its options and then cannot start its target: run it so (any
    unknown option or bad value is reported before that), then parse the target script's own arguments."""
    target = next(i for i, a in enumerate(command) if Path(a).name.startswith("python"))
    tool = subprocess.run([*command[:target], "--require-cuda-init", "no", *command[target:]], capture_output=True,
                          text=True, timeout=60)
    text = tool.stdout + tool.stderr
    bad = re.search(r"(unrecognised option.*|invalid .*|Usage: compute-sanitizer.*)", text, re.I)
    if bad:
        print(text[-2000:], file=sys.stderr)
        print(f"compute-sanitizer refused its arguments: {bad.group(1).strip()}")
        return 1
    status = parse_only(command[target + 1], command[target + 2:])
    if status == 0:
        print(f"compute-sanitizer accepted: {' '.join(command[1:target])}")
    return status


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "env"
    if what == "parse":
        return parse_only(argv[1], argv[2:])
    if what == "sanitizer":
        return sanitizer_syntax(argv[1:])
    import torch

    if what == "env":
        name = torch.cuda.get_device_name() if torch.cuda.is_available() else None
        print(f"python {sys.version.split()[0]} torch {torch.__version__} cuda {torch.version.cuda} device {name}")
        return 0
    if not torch.cuda.is_available():
        print(f"no CUDA device visible to torch {torch.__version__} (CUDA {torch.version.cuda})", file=sys.stderr)
        return NO_GPU
    arch = "%d.%d" % torch.cuda.get_device_capability()
    name = torch.cuda.get_device_name()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    answers = {"arch": arch, "slug": slug, "device": f"{arch} {slug} {name}"}
    if what not in answers:
        print(f"unknown query {what!r}: arch, slug, device, env, parse or sanitizer", file=sys.stderr)
        return 2
    print(answers[what])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
