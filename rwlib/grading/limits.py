"""The resource limits of one student kernel: plain data, importable on any system.

:mod:`rwlib.grading.sandbox` applies them (on Linux); the command line reads their
defaults from here, so that ``rwlib release`` also starts where the sandbox cannot.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one kernel.

    Attributes
    ----------
    memory_bytes : int
        Address space (4 GiB): a 50 GB allocation fails with MemoryError.
    cpu_seconds : int
        CPU time of the whole kernel (10 minutes).
    processes : int
        Processes and threads of the kernel's user (64); enforced when the kernel
        runs as a user of its own, i.e. when grading as root.
    file_bytes : int
        Largest file the kernel may write (64 MiB).
    disk_bytes : int
        Size of the kernel's scratch space (256 MiB), a tmpfs with bubblewrap: it
        is memory, counted apart from ``memory_bytes``. Without bubblewrap the
        scratch folder is on the host's disk and only ``file_bytes`` holds.
    """

    memory_bytes: int = 4 << 30
    cpu_seconds: int = 600
    processes: int = 64
    file_bytes: int = 64 << 20
    disk_bytes: int = 256 << 20
