"""The sandbox a student's kernel runs in while ``rwlib grade`` grades it.

With bubblewrap (``bwrap``, Debian package ``bubblewrap``) the kernel gets

- no network (its own network namespace, with only a loopback device);
- a file system of its own: the operating system (``/usr``, ``/etc``), the
  Python installation and the course's virtual environment and ``rwlib``, all
  read-only, and one writable scratch directory, its working directory. The
  instructor's files, ``solutions/``, the other submissions and the grades are
  not in it at all;
- its own process and IPC namespaces and session.

With or without bubblewrap, resource limits hold: address space (memory), CPU
time, processes and the size of a written file (see :class:`Limits`). And when
graded as root, each kernel runs as a user id of its own, so that its process
limit counts only its own processes, and it can read only what every user may
read. Without bubblewrap, only the limits and the user id hold, and
:func:`isolation_warning` says so.

The kernel talks to the grader through Unix sockets in its scratch directory
(TCP does not cross network namespaces).

``python rwlib/grading/sandbox.py --limit NAME=VALUE ... [--uid N] -- COMMAND`` is the
small launcher that sets the limits, drops to the user id and runs COMMAND.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

_RLIMITS = {
    "memory_bytes": resource.RLIMIT_AS,
    "cpu_seconds": resource.RLIMIT_CPU,
    "processes": resource.RLIMIT_NPROC,
    "file_bytes": resource.RLIMIT_FSIZE,
}


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
    """

    memory_bytes: int = 4 << 30
    cpu_seconds: int = 600
    processes: int = 64
    file_bytes: int = 64 << 20


@functools.cache
def bubblewrap() -> str | None:
    """The path of a working ``bwrap`` (it can make a network namespace), or None.

    ``RWLIB_NO_BUBBLEWRAP=1`` in the environment makes it None: grading then runs
    as on a machine without bubblewrap (the tests use it to check that fallback).
    """
    path = shutil.which("bwrap")
    if path is None or os.environ.get("RWLIB_NO_BUBBLEWRAP") == "1":
        return None
    probe = [path, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "true"]
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return path if ok else None


def own_user_ids() -> bool:
    """True when each kernel can run as a user id of its own: when grading as root."""
    return os.geteuid() == 0


def isolation_warning() -> str | None:
    """What is not isolated on this machine, or None when the full sandbox is on."""
    install = "Install it (Debian/Ubuntu: apt-get install bubblewrap) before grading for real."
    if bubblewrap() is None and own_user_ids():
        return (
            "bubblewrap (bwrap) is not installed or cannot make namespaces here, so student "
            "kernels run WITHOUT the sandbox's namespaces: they can use the network and read "
            "every file that any user may read (keep solutions and grades private: chmod 700). "
            "Each kernel still runs as a user id of its own, with the memory, CPU, file-size "
            f"and process limits. {install}"
        )
    if bubblewrap() is None:
        return (
            "bubblewrap (bwrap) is not installed or cannot make namespaces here, so student "
            "kernels run WITHOUT the sandbox: they can use the network and read and write "
            "whatever this user can. Only the memory, CPU, file-size and process limits hold. "
            + install
        )
    if not own_user_ids():
        return (
            "grading as a normal user: kernels are sandboxed, but the process limit counts all "
            "of this user's processes, so it is raised by what already runs. Grade as root (e.g. "
            "in a container) for a per-kernel process limit."
        )
    return None


def _ancestors(path: Path) -> list[Path]:
    return list(reversed(path.parents))[1:]


def _binds(paths_read_only: list[Path], scratch: Path) -> list[str]:
    """bwrap arguments: directories that lead to each bind (mode 0755), then the binds."""
    args, made = [], set()
    for path in [*paths_read_only, scratch]:
        for parent in _ancestors(path):
            if parent not in made and str(parent) not in ("/usr", "/etc"):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
    for path in paths_read_only:
        args += ["--ro-bind", str(path), str(path)]
    return args + ["--bind", str(scratch), str(scratch)]


def _system() -> list[str]:
    """bwrap arguments for the system: /usr and /etc, the merged-/usr links, /proc and /dev."""
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args + ["--proc", "/proc", "--dev", "/dev"]


def python_paths() -> list[Path]:
    """What a kernel must read: the Python installation, the environment, and rwlib itself."""
    import rwlib

    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    paths.add(Path(rwlib.__file__).resolve().parent)
    # Keep only the outermost paths: binding a folder inside one already bound is redundant.
    return sorted(p for p in paths if not any(q != p and q in p.parents for q in paths))


def hidden_from_other_users() -> list[Path]:
    """The paths of :func:`python_paths` that another user cannot reach.

    A path is reachable when every folder on the way is open to others (``o+x``)
    and the path is readable by them (``o+r``).
    """
    return [
        path
        for path in python_paths()
        if not os.stat(path).st_mode & 0o004
        or any(not os.stat(folder).st_mode & 0o001 for folder in path.parents)
    ]


def user_id_problem() -> str | None:
    """Why kernels cannot run as user ids of their own here, or None when they can.

    Without bubblewrap, a kernel's own user id sees the real file system, so it
    must reach the paths of :func:`python_paths` there. With bubblewrap, or when
    not grading as root, there is no problem.
    """
    if not own_user_ids() or bubblewrap() is not None:
        return None
    hidden = hidden_from_other_users()
    if not hidden:
        return None
    return (
        "without bubblewrap, each kernel runs as a user id of its own, which cannot reach "
        f"{', '.join(map(str, hidden))}: make them and their folders "
        "readable by others (chmod o+rx), install bubblewrap (apt-get install bubblewrap), "
        "or grade as a normal user"
    )


def kernel_environment(scratch: Path) -> dict[str, str]:
    """The whole environment of a kernel: nothing of the grader's own leaks in."""
    return {
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "RWLIB_GRADING": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "agg",  # no figure is rendered: grading needs the numbers, not the pictures
        "MPLCONFIGDIR": str(scratch / ".matplotlib"),
        "IPYTHONDIR": str(scratch / ".ipython"),
        "JUPYTER_RUNTIME_DIR": str(scratch / ".jupyter"),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


@functools.cache
def _font_list() -> Path:
    """matplotlib's font list, built once by the grader (on import) in its own cache folder."""
    import matplotlib
    from matplotlib import font_manager

    return Path(matplotlib.get_cachedir(), f"fontlist-v{font_manager.FontManager.__version__}.json")


def prepare_scratch(scratch: Path, uid: int | None) -> None:
    """Fill a new scratch directory and give it to ``uid``: its socket folder and font list.

    The copy of the grader's matplotlib font list saves every kernel from building
    its own, which costs a tenth of a second, and seconds on a machine with many fonts.
    """
    (scratch / ".ipc").mkdir()
    (scratch / ".matplotlib").mkdir()
    shutil.copy(_font_list(), scratch / ".matplotlib")
    if uid is not None:
        for path in (scratch, *scratch.rglob("*")):
            os.chown(path, uid, uid)


def command(argv: list[str], scratch: Path, limits: Limits, uid: int | None) -> list[str]:
    """The command that runs ``argv`` in the sandbox, in ``scratch``, with ``limits``.

    Parameters
    ----------
    argv : list of str
        The kernel's command line (e.g. ``[python, -m, ipykernel_launcher, -f, FILE]``).
    scratch : pathlib.Path
        The kernel's own writable directory; the only one.
    limits : Limits
        Resource limits.
    uid : int or None
        Run as this user id (root only); None keeps the grader's user.

    Returns
    -------
    list of str
        ``bwrap ... -- python -I -S .../rwlib/grading/sandbox.py ... -- argv`` with
        bubblewrap, else ``python -I -S .../rwlib/grading/sandbox.py ... -- argv``.
    """
    # This file run as a script, with no site-packages: it needs only the standard library,
    # and "-m rwlib.grading.sandbox" would import rwlib and numpy first: a tenth of a second
    # per kernel.
    launcher = [sys.executable, "-I", "-S", str(Path(__file__).resolve())]
    for field in dataclasses.fields(limits):
        launcher += ["--limit", f"{field.name}={getattr(limits, field.name)}"]
    if uid is not None:
        launcher += ["--uid", str(uid)]
    launcher += ["--", *argv]
    bwrap = bubblewrap()
    if bwrap is None:
        return launcher
    args = [bwrap, "--die-with-parent", "--new-session", "--clearenv"]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-cgroup-try"]
    if uid is not None:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    args += _system() + _binds(python_paths(), scratch) + ["--chdir", str(scratch)]
    for name, value in kernel_environment(scratch).items():
        args += ["--setenv", name, value]
    return [*args, "--", *launcher]


def _launch(argv=None) -> None:
    """``python rwlib/grading/sandbox.py``: set the limits, drop to ``--uid``, exec the command."""
    parser = argparse.ArgumentParser(prog="rwlib/grading/sandbox.py")
    parser.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--uid", type=int)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    for item in args.limit:
        name, value = item.split("=")
        resource.setrlimit(_RLIMITS[name], (int(value), int(value)))
    if args.uid is not None:
        os.setgroups([])
        os.setgid(args.uid)
        os.setuid(args.uid)
    command_line = args.command[1:] if args.command[:1] == ["--"] else args.command
    os.execv(command_line[0], command_line)


def uid_for(worker: int, kernel: int) -> int:
    """A user id of its own for the ``kernel``-th kernel of ``worker`` (no account needed).

    Kernels that may run at the same time (two per worker: the running one and
    the one launched for the next notebook) never share an id.

    Examples
    --------
    >>> uid_for(0, 0), uid_for(1, 0), uid_for(1, 1)
    (200000, 201000, 201001)
    """
    return 200_000 + 1000 * (worker % 100) + kernel % 1000


if __name__ == "__main__":
    _launch()
