"""Data-parallel setup from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT)."""
from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Any, List

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "setup_distributed", "cleanup_distributed", "all_gather_objects", "parameter_digest"]


@dataclasses.dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str = "cpu") -> DistInfo:
    """Join the process group when launched by torchrun with more than one process; pick this rank's device.

    gloo on CPU, NCCL on GPU. ``device="cuda"`` means ``cuda:LOCAL_RANK``.

    Args:
        device (str, optional): ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. (Default: ``"cpu"``)
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for but torch sees no CUDA device")
        dev = torch.device(f"cuda:{local_rank}") if device == "cuda" else torch.device(device)
        torch.cuda.set_device(dev)
    elif device == "cpu":
        dev = torch.device("cpu")
    else:
        raise ValueError(f"device {device!r} is not one of cpu, cuda, cuda:N")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return DistInfo(rank, world_size, local_rank, dev)


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_gather_objects(obj: Any, info: DistInfo) -> List[Any]:
    """Every rank's ``obj``, in rank order (just ``[obj]`` without a process group)."""
    if not info.enabled:
        return [obj]
    out: List[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def all_reduce_sum(values: List[float], info: DistInfo) -> List[float]:
    """Sum a list of numbers over ranks."""
    if not info.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return t.tolist()


def parameter_digest(module: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer's bytes, in state-dict order: equal digests, identical replicas."""
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
