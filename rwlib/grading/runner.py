"""The pytest plugin that ``rwlib grade`` runs nbval with (``-p rwlib.grading.runner``).

nbval executes each rebuilt submission cell by cell (``--nbval-lax``). The
settings come from one JSON file (``--rwlib-settings``, written by ``rwlib
grade`` from :class:`rwlib.grading.grade.Settings`). The plugin replaces four
names of nbval (:data:`PATCHED`; pyproject.toml pins nbval to the tested range),
and decides the verdicts:

- **Sandboxed kernels, launched ahead** (``nbval.kernel.start_new_kernel``).
  Kernels talk over Unix sockets in a socket folder of their own and run
  through :mod:`rwlib.grading.sandbox` with the settings' limits. Each
  notebook's kernel is launched while the previous notebook runs; each kernel
  serves one notebook only, and when the notebook ends, every process the kernel
  started is ended and its folders are removed.
- **Time limits that hold** (``RunningKernel.await_reply``, ``get_message``,
  ``execute_cell_input``). A cell's limit is the one the rebuilt notebook names
  for its question, or the settings' ``timeout``; it holds while the cell keeps
  printing, since every wait checks it. A notebook's wall-clock limit
  (``notebook_timeout``) runs from the hand-over of its kernel; a timer ends the
  kernel's processes when it is up, and the cells that did not run time out.
- **Dead kernels are noticed at once.** Every wait polls the kernel process,
  so a kernel that died (``os._exit``, a crash, a limit) fails its cell
  immediately instead of after the cell timeout.
- **One output limit for every message.** Every frame a kernel sends, on any
  channel and of any type (stream, display_data, comm_msg, replies), is counted
  against ``output_limit`` per cell before it is decoded, and zmq refuses any
  single frame larger than the limit (``MAXMSGSIZE``); either way the kernel is
  stopped. The client opens only shell and iopub; while a cell runs, both are read.

The verdict of every question is decided here, in the pytest process: a check
cell passes when it raises nothing and the values its hidden test printed match
the ones the instructor's solution printed (:func:`rwlib.hidden_values.compare`).
When a notebook's last cell has run, its result is written atomically to the
JSON file that the notebook's ``rwlib_grading`` metadata names.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from queue import Empty

import nbval.kernel
import pytest
import zmq
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from jupyter_client.utils import run_sync
from nbval.plugin import NbCellError

from rwlib.grading import sandbox
from rwlib.grading.comparison import question_result, stream_text
from rwlib.grading.grade import Settings, write_atomically
from rwlib.grading.intake import cell_grade_id
from rwlib.grading.manual import written_question
from rwlib.grading.results import NotebookResult

POLL_SECONDS = 0.2
# After a cell's time limit nbval interrupts it; a cell still running this much later (it
# ignores the interrupt, or keeps printing) has its kernel stopped.
INTERRUPT_SECONDS = 5.0


class KernelDied(RuntimeError):
    """The kernel process ended while a cell ran."""


class OutputTooLarge(RuntimeError):
    """The kernel sent more than the output limit for one cell, on any channel."""


class TimeLimit(RuntimeError):
    """A cell, or its notebook, ran past its time limit, so its kernel was stopped."""


class _State:
    """Settings of this pytest process, and the kernels it has started."""

    settings = Settings()
    scratch_root = Path(tempfile.gettempdir())
    contexts: dict[str, zmq.Context] = {}
    deadline_seconds: float | None = None  # the running cell's question timeout, if any
    kernels: list[SandboxedKernelManager] = []  # handed to the running notebook
    spare: SandboxedKernelManager | None = None  # launched for the next notebook


def _context(kind: str) -> zmq.Context:
    """The zmq context of the grader's sockets of one kind: ``client`` or ``control``.

    No frame larger than the output limit is ever received (``MAXMSGSIZE``: the
    kernel is disconnected instead, which :func:`_check_limits` notices). The
    manager's control socket, which nothing reads, also keeps at most a few messages.
    """
    if kind not in _State.contexts:
        context = zmq.Context()
        context.setsockopt(zmq.MAXMSGSIZE, _State.settings.output_limit)
        if kind == "control":
            context.setsockopt(zmq.RCVHWM, 8)
        _State.contexts[kind] = context
    return _State.contexts[kind]


class SandboxedKernelManager(KernelManager):
    """A KernelManager whose kernel runs in :mod:`rwlib.grading.sandbox`, over Unix sockets.

    Its folder (in the run's scratch folder) holds ``sockets/`` and, without
    bubblewrap, the kernel's scratch directory ``home/``. The kernel runs as a user
    id of its own when grading as root.
    """

    def __init__(self, **kwargs):
        super().__init__(context=_context("control"), **kwargs)
        self.uid = sandbox.allocate_uid() if sandbox.own_user_ids() else None
        self.folder = Path(tempfile.mkdtemp(prefix="kernel-", dir=_State.scratch_root))
        self.sockets, self.scratch = sandbox.prepare_folder(self.folder, self.uid)
        self.transport = "ipc"
        self.ip = str(self.sockets / "kernel")
        self.connection_file = str(self.sockets / "connection.json")
        self.deadline = math.inf  # the notebook's, from the hand-over (monotonic clock)
        self.pgid: int | None = None
        self.kernel_client = None
        self.monitors: list[zmq.Socket] = []
        self.watchdog: threading.Timer | None = None
        argv = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        self._kernel_spec = KernelSpec(
            argv=argv, display_name="Python 3", language="python", interrupt_mode="message"
        )

    def write_connection_file(self, **kwargs):
        result = super().write_connection_file(**kwargs)
        if self.uid is not None:
            os.chown(self.connection_file, self.uid, self.uid)
        return result

    def format_kernel_cmd(self, extra_arguments=None):
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]
        limits = _State.settings.limits
        return sandbox.command(argv, self.scratch, limits, self.uid, sockets=self.sockets)

    async def _async_pre_start_kernel(self, **kwargs):
        kwargs["cwd"] = str(self.scratch)
        kwargs["env"] = sandbox.kernel_environment(self.scratch)
        return await super()._async_pre_start_kernel(**kwargs)

    def end_processes(self) -> None:
        """SIGKILL the kernel's whole process tree; safe from any thread, and more than once.

        Its process group (with bubblewrap, bwrap: the kernel's namespace ends with
        it), and, when it runs as a user id of its own, every process of that id,
        wherever it went (another session, a daemon).
        """
        sandbox.end_process_group(self.pgid)
        if self.uid is not None:
            sandbox.end_processes(self.uid)

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False):
        try:
            await super()._async_shutdown_kernel(now=True, restart=restart)
        finally:
            self.end_processes()

    shutdown_kernel = run_sync(_async_shutdown_kernel)

    def end(self) -> None:
        """When its notebook ends: no timer, socket, process or file of this kernel is left."""
        if self.watchdog is not None:
            self.watchdog.cancel()
        for monitor in self.monitors:
            monitor.close(linger=0)
        client = self.kernel_client
        for channel in (client and client._shell_channel, client and client._iopub_channel):
            if channel is not None:
                channel.close()
        try:
            if self.has_kernel:
                self.shutdown_kernel(now=True)
        except Exception:  # noqa: S110 (the processes are ended below in any case)
            pass
        self.end_processes()
        if self.uid is None:  # lock_sockets made it read-only for the grader's own user
            try:
                os.chmod(self.sockets, 0o700)
            except OSError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


def _launched_kernel() -> SandboxedKernelManager:
    manager = SandboxedKernelManager()
    try:
        # Nothing of the grader's own (its log, its terminal) is open in the kernel.
        devnull = subprocess.DEVNULL
        manager.start_kernel(stdin=devnull, stdout=devnull, stderr=devnull)
    except Exception:
        manager.end()
        raise
    # jupyter_client starts the kernel in a session of its own: its group is its pid.
    process = getattr(manager.provisioner, "process", None)
    manager.pgid = getattr(manager.provisioner, "pgid", None) or getattr(process, "pid", None)
    return manager


def _start_new_kernel(startup_timeout=60, kernel_name=None, **kwargs):
    """nbval's kernel start, taking the kernel that was launched while the last notebook ran.

    A kernel spends about half a second booting (Python, IPython, ipykernel). So
    once a notebook has its kernel, the next notebook's kernel is launched, and it
    boots while this notebook runs. Each kernel still serves one notebook only.

    From the hand-over the notebook's wall-clock limit runs: a timer ends the
    kernel's processes when it is up, whatever the grader is waiting for. The
    client opens only the shell and iopub channels, and watches both for the
    disconnection that an over-large message causes. Once the kernel is ready, and
    before any student code runs, its socket folder is locked.
    """
    manager, _State.spare = _State.spare or _launched_kernel(), None
    _State.kernels.append(manager)
    seconds = _State.settings.notebook_timeout
    manager.deadline = time.monotonic() + seconds
    manager.watchdog = threading.Timer(seconds, manager.end_processes)
    manager.watchdog.daemon = True
    manager.watchdog.start()
    client = manager.client(context=_context("client"))
    manager.kernel_client = client
    client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
    manager.monitors = [
        channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        for channel in (client.shell_channel, client.iopub_channel)
    ]
    try:
        client.wait_for_ready(timeout=startup_timeout)
        sandbox.lock_sockets(manager.sockets, manager.uid)
    except Exception:
        client.stop_channels()
        manager.shutdown_kernel()
        raise
    try:
        _State.spare = _launched_kernel()
    except Exception:  # the next notebook launches its own kernel, and reports why it failed
        _State.spare = None
    return manager, client


def _stop(kernel, error: Exception) -> Exception:
    """End the kernel's processes (the notebook's end cleans up the rest); returns ``error``."""
    kernel.km.end_processes()
    return error


def _notebook_timeout() -> TimeLimit:
    return TimeLimit(
        f"the notebook ran longer than its {_State.settings.notebook_timeout:g} s time limit, "
        "so its kernel was stopped before this cell finished"
    )


def _died(kernel) -> RuntimeError:
    """Why the kernel is gone: the notebook's timer ended it, or it died."""
    if time.monotonic() > kernel.km.deadline:
        return _notebook_timeout()
    return KernelDied(
        "the kernel died while this cell ran (os._exit, a crash, or the memory, CPU "
        "or process limit)"
    )


def _check_limits(kernel) -> None:
    """Raise (and stop the kernel) when the notebook, or the cell, is past its time, or the
    kernel was disconnected for sending a frame larger than the output limit."""
    now = time.monotonic()
    if now > kernel.km.deadline:
        raise _stop(kernel, _notebook_timeout())
    deadline = getattr(kernel, "rwlib_deadline", None)
    if deadline is not None and now > deadline + INTERRUPT_SECONDS:
        raise _stop(
            kernel,
            TimeLimit(
                f"the cell ran longer than its {kernel.rwlib_seconds:g} s time limit and went "
                "on after it was interrupted, so its kernel was stopped"
            ),
        )
    for monitor in kernel.km.monitors:
        if monitor.poll(0):
            monitor.recv_multipart()
            # A kernel that dies disconnects too: give its process a moment to be seen gone.
            for _ in range(10):
                if not kernel.km.is_alive():
                    raise _died(kernel)
                time.sleep(0.1)
            raise _stop(kernel, _too_large(one_message=True))


def _too_large(one_message: bool = False) -> OutputTooLarge:
    limit = f"{_State.settings.output_limit:,} bytes"
    if one_message:
        return OutputTooLarge(
            f"the cell printed more than {limit} in one message (or its kernel broke its "
            "connection to the grader), so its kernel was stopped; print less"
        )
    return OutputTooLarge(
        f"the cell printed more than {limit} (counting displays, widget and all other "
        "messages of its kernel), so its kernel was stopped; print less"
    )


def _receive(kernel, channel) -> dict:
    """One message from a channel, its bytes counted against the cell's limit BEFORE decoding."""
    frames = channel.socket.recv_multipart(copy=True)
    kernel.rwlib_received = getattr(kernel, "rwlib_received", 0) + sum(map(len, frames))
    if kernel.rwlib_received > _State.settings.output_limit:
        raise _stop(kernel, _too_large())
    _identities, message = channel.session.feed_identities(frames)
    return channel.session.deserialize(message)


def _backlog(kernel) -> deque:
    """iopub messages read while waiting for a shell reply, for nbval's next reads."""
    return kernel.__dict__.setdefault("rwlib_backlog", deque())


def _await_reply(self, msg_id, timeout=None):
    """nbval's wait for a cell's reply, with every limit checked while it waits.

    It polls the kernel process (a dead kernel fails its cell at once), the cell's
    and the notebook's deadlines, and reads iopub as well as shell: what the cell
    prints is counted as it comes, and never piles up in zmq's queue.
    """
    deadline = getattr(self, "rwlib_deadline", None)
    if deadline is None:  # not a cell: nbval's own kernel_info at start-up
        deadline = time.monotonic() + (timeout if timeout is not None else math.inf)
    shell, iopub = self.kc.shell_channel, self.kc.iopub_channel
    poller = zmq.Poller()
    poller.register(shell.socket, zmq.POLLIN)
    poller.register(iopub.socket, zmq.POLLIN)
    while True:
        _check_limits(self)
        ready = dict(poller.poll(POLL_SECONDS * 1000))
        if iopub.socket in ready:
            _backlog(self).append(_receive(self, iopub))
        if shell.socket in ready:
            msg = _receive(self, shell)
            if msg["parent_header"].get("msg_id") == msg_id:
                if msg["content"].get("status") == "aborted":
                    raise RuntimeError("Kernel aborted execution request")
                return
        elif not ready:
            if not self.km.is_alive():
                raise _died(self)
            if time.monotonic() > deadline:
                raise Empty


def _get_message(self, stream, timeout=None):
    """nbval's read of one message (``iopub`` or ``shell``), with every limit checked.

    It waits in short polls, so the cell's and the notebook's deadlines hold while
    a cell keeps printing (nbval's own wait restarts with every message), and a
    kernel that died is noticed once no message is left.
    """
    if stream not in ("iopub", "shell"):
        raise ValueError(f'Invalid stream specified: "{stream}"')
    if stream == "iopub" and _backlog(self):
        return _backlog(self).popleft()
    channel = self.kc.iopub_channel if stream == "iopub" else self.kc.shell_channel
    end = time.monotonic() + (timeout if timeout is not None else math.inf)
    while True:
        _check_limits(self)
        wait = max(0.0, min(POLL_SECONDS, end - time.monotonic()))
        if channel.socket.poll(int(wait * 1000)):
            return _receive(self, channel)
        if not self.km.is_alive():
            raise _died(self)
        if time.monotonic() >= end:
            raise Empty


def _execute_cell_input(self, cell_input, allow_stdin=None):
    """nbval's start of a cell: its byte count starts at 0, and its time limit runs."""
    seconds = _State.deadline_seconds
    self.rwlib_seconds = seconds if seconds is not None else _State.settings.timeout
    self.rwlib_received = 0
    self.rwlib_deadline = time.monotonic() + self.rwlib_seconds
    return ORIGINALS["execute_cell_input"](self, cell_input, allow_stdin=allow_stdin)


#: What the plugin replaces in nbval (tests/test_grade_limits.py checks these signatures).
ORIGINALS = {
    "start_new_kernel": nbval.kernel.start_new_kernel,
    "await_reply": nbval.kernel.RunningKernel.await_reply,
    "get_message": nbval.kernel.RunningKernel.get_message,
    "execute_cell_input": nbval.kernel.RunningKernel.execute_cell_input,
}
PATCHED = {
    "start_new_kernel": (nbval.kernel, _start_new_kernel),
    "await_reply": (nbval.kernel.RunningKernel, _await_reply),
    "get_message": (nbval.kernel.RunningKernel, _get_message),
    "execute_cell_input": (nbval.kernel.RunningKernel, _execute_cell_input),
}


def pytest_addoption(parser):
    group = parser.getgroup("rwlib grade")
    group.addoption(
        "--rwlib-settings",
        default=None,
        help="JSON file with the grading settings and the scratch folder (from rwlib grade)",
    )


def pytest_configure(config):
    path = config.getoption("--rwlib-settings")
    if path:
        data = json.loads(Path(path).read_text())
        _State.settings = Settings.from_dict(data["settings"])
        _State.scratch_root = Path(data["scratch"])
    for name, (owner, replacement) in PATCHED.items():
        setattr(owner, name, replacement)


def _end_notebook() -> None:
    """The notebook's kernels are done: end every process they left, and remove their folders."""
    for manager in _State.kernels:
        manager.end()
    _State.kernels.clear()


def pytest_sessionfinish(session):
    _end_notebook()
    if _State.spare is not None:
        _State.spare.end()
        _State.spare = None


def _grading(item) -> dict:
    return item.parent.nb.metadata["rwlib_grading"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.parent.timed_out = False  # a timed-out cell fails alone; the next cells still run
    timeouts = _grading(item).get("timeouts", {})
    _State.deadline_seconds = timeouts.get(cell_grade_id(item.cell))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    """Once a notebook's time is up, its remaining cells do not run: they time out."""
    manager = getattr(getattr(item.parent, "kernel", None), "km", None)
    if isinstance(manager, SandboxedKernelManager) and time.monotonic() > manager.deadline:
        manager.end_processes()
        raise _notebook_timeout()


_EXCEPTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,79}")


def _record(item, excinfo) -> dict:  # noqa: PLR0911 (one return per kind of outcome)
    """What happened in one cell: ok, exception, timeout or died, and what it printed.

    Of an exception only its type's name is kept (what a student's code raises could
    carry anything it can read, e.g. the sources of earlier hidden tests).
    """
    stdout = stream_text(item.test_outputs or [])
    if excinfo is None:
        return {"outcome": "ok", "stdout": stdout}
    error = excinfo.value
    text = str(error.args[0]) if isinstance(error, NbCellError) and error.args else str(error)
    if isinstance(error, TimeLimit):
        return {"outcome": "timeout", "message": str(error)}
    if isinstance(error, (KernelDied, OutputTooLarge)):
        return {"outcome": "died", "message": str(error)}
    if isinstance(error, RuntimeError) and "Kernel dead" in str(error):
        return {"outcome": "died", "message": "the kernel had died in an earlier cell"}
    if text.startswith("Timeout"):
        return {"outcome": "timeout", "message": "the cell ran longer than its time limit"}
    errors = [o for o in (item.test_outputs or []) if o.get("output_type") == "error"]
    name = str(errors[-1].get("ename", "")) if errors else type(error).__name__
    name = name if _EXCEPTION_NAME.fullmatch(name) else "an exception"
    return {"outcome": "exception", "ename": name, "stdout": stdout}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    yield
    if call.when == "call" or (call.when == "setup" and call.excinfo is not None):
        records = item.parent.__dict__.setdefault("rwlib_records", {})
        try:
            record = _record(item, call.excinfo)
        except Exception:  # never let one submission stop the batch
            record = {"outcome": "exception", "ename": "GraderError", "stdout": ""}
        if call.when == "setup":
            record = {
                "outcome": "died",
                "message": f"the kernel did not start: {call.excinfo.value}",
            }
        record["reference"] = stream_text(item.cell.get("outputs", []))
        records[item.cell_num] = (cell_grade_id(item.cell), record)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    if nextitem is not None and nextitem.parent is item.parent:
        return
    _end_notebook()  # its kernel has stopped (or died) by now: end all it left behind
    grading = _grading(item)
    by_id = {gid: record for gid, record in item.parent.__dict__.get("rwlib_records", {}).values()}
    questions = [question_result(question, by_id) for question in grading["questions"]]
    questions += [written_question(q, q["answer"], q["untouched"]) for q in grading["manual"]]
    submission = grading["submission"]
    result = NotebookResult(
        submission["student"],
        submission["notebook"],
        tuple(questions),
        origin=submission["origin"],
        key=submission["key"],
        run=submission["run"],
        notes=tuple(submission["notes"]),
    )
    write_atomically(Path(grading["result"]), result.to_json())
