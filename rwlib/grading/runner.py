"""The pytest plugin that ``rwlib grade`` runs nbval with (``-p rwlib.grading.runner``).

nbval executes each rebuilt submission cell by cell (``--nbval-lax``). This
plugin changes four things about how, and decides the verdicts:

- **Sandboxed kernels, launched ahead.** nbval's kernel start is replaced by
  one whose kernels talk over Unix sockets in a fresh scratch directory and run
  through :mod:`rwlib.grading.sandbox`. Each notebook's kernel is launched while the
  previous notebook runs; each kernel serves one notebook only.
- **Dead kernels are noticed at once.** Waiting for a cell's reply polls the
  kernel process, so a kernel that died (``os._exit``, a crash, a limit) fails
  its cell immediately instead of after the cell timeout.
- **Per-question timeouts.** A cell's timeout is the one the rebuilt notebook
  names for its question, or ``--nbval-cell-timeout``.
- **Output-size limit.** A cell that prints more than ``--rwlib-output-limit``
  bytes has its kernel stopped.

The verdict of every question is decided here, in the pytest process: a check
cell passes when it raises nothing and the values its hidden test printed match
the ones the instructor's solution printed (:func:`rwlib.hidden_values.compare`).
When a notebook's last cell has run, its result is written atomically to the
JSON file that the notebook's ``rwlib_grading`` metadata names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

import nbval.kernel
import pytest
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from jupyter_client.utils import run_sync
from nbval.plugin import NbCellError

from rwlib.grading import sandbox
from rwlib.grading.comparison import question_result
from rwlib.grading.grade import write_atomically
from rwlib.grading.intake import cell_grade_id
from rwlib.grading.results import NotebookResult, QuestionResult

POLL_SECONDS = 0.2


class KernelDied(RuntimeError):
    """The kernel process ended while a cell ran."""


class OutputTooLarge(RuntimeError):
    """A cell printed more than the output limit."""


class _State:
    """Settings of this pytest process, and the kernels it has started."""

    output_limit = 1 << 20
    scratch_root = Path(tempfile.gettempdir())
    limits = sandbox.Limits()
    deadline_seconds: float | None = None
    kernels = 0
    scratches: list[Path] = []  # of the kernels handed to notebooks
    spare: SandboxedKernelManager | None = None  # launched for the next notebook


def _worker_index() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


class SandboxedKernelManager(KernelManager):
    """A KernelManager whose kernel runs in :mod:`rwlib.grading.sandbox`, over Unix sockets."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scratch = Path(tempfile.mkdtemp(prefix="kernel-", dir=_State.scratch_root))
        self.uid = (
            sandbox.uid_for(_worker_index(), _State.kernels) if sandbox.own_user_ids() else None
        )
        _State.kernels += 1
        sandbox.prepare_scratch(self.scratch, self.uid)
        self.transport = "ipc"
        self.ip = str(self.scratch / ".ipc" / "kernel")
        self.connection_file = str(self.scratch / ".ipc" / "connection.json")
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
        return sandbox.command(argv, self.scratch, _State.limits, self.uid)

    async def _async_pre_start_kernel(self, **kwargs):
        kwargs["cwd"] = str(self.scratch)
        kwargs["env"] = sandbox.kernel_environment(self.scratch)
        return await super()._async_pre_start_kernel(**kwargs)

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False):
        await super()._async_shutdown_kernel(now=True, restart=restart)

    shutdown_kernel = run_sync(_async_shutdown_kernel)


def _launched_kernel() -> SandboxedKernelManager:
    manager = SandboxedKernelManager()
    manager.start_kernel(stderr=subprocess.DEVNULL)
    return manager


def _start_new_kernel(startup_timeout=60, kernel_name=None, **kwargs):
    """nbval's kernel start, taking the kernel that was launched while the last notebook ran.

    A kernel spends about half a second booting (Python, IPython, ipykernel). So
    once a notebook has its kernel, the next notebook's kernel is launched, and it
    boots while this notebook runs. Each kernel still serves one notebook only.
    """
    manager, _State.spare = _State.spare or _launched_kernel(), None
    _State.scratches.append(manager.scratch)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=startup_timeout)
    except RuntimeError:
        client.stop_channels()
        manager.shutdown_kernel()
        raise
    try:
        _State.spare = _launched_kernel()
    except Exception:  # the next notebook launches its own kernel, and reports why it failed
        _State.spare = None
    return manager, client


def _await_reply(self, msg_id, timeout=None):
    """nbval's wait for a cell's reply, polling the kernel process and the question's deadline."""
    limit = _State.deadline_seconds if _State.deadline_seconds is not None else timeout
    deadline = time.monotonic() + (limit if limit is not None else float("inf"))
    while True:
        try:
            msg = self.get_message(stream="shell", timeout=POLL_SECONDS)
        except Empty:
            if not self.km.is_alive():
                raise KernelDied(
                    "the kernel died while this cell ran (os._exit, a crash, or the memory, CPU "
                    "or process limit)"
                ) from None
            if time.monotonic() > deadline:
                raise
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            return


_original_get_message = nbval.kernel.RunningKernel.get_message
_original_execute = nbval.kernel.RunningKernel.execute_cell_input


def _get_message(self, stream, timeout=None):
    """nbval's message read, counting the bytes a cell prints against the output limit."""
    msg = _original_get_message(self, stream, timeout=timeout)
    if stream == "iopub" and msg["msg_type"] in {
        "stream",
        "display_data",
        "execute_result",
        "error",
    }:
        self.printed = getattr(self, "printed", 0) + len(json.dumps(msg["content"]))
        if self.printed > _State.output_limit:
            self.km.shutdown_kernel(now=True)
            raise OutputTooLarge(
                f"the cell printed more than {_State.output_limit:,} bytes, so its kernel was "
                "stopped; print less"
            )
    return msg


def _execute_cell_input(self, cell_input, allow_stdin=None):
    self.printed = 0
    return _original_execute(self, cell_input, allow_stdin=allow_stdin)


def pytest_addoption(parser):
    group = parser.getgroup("rwlib grade")
    group.addoption("--rwlib-output-limit", type=int, default=1 << 20, help="bytes per cell")
    group.addoption("--rwlib-scratch", default=None, help="folder for the kernels' scratch dirs")


def pytest_configure(config):
    _State.output_limit = config.getoption("--rwlib-output-limit")
    if config.getoption("--rwlib-scratch"):
        _State.scratch_root = Path(config.getoption("--rwlib-scratch"))
    nbval.kernel.start_new_kernel = _start_new_kernel
    nbval.kernel.RunningKernel.await_reply = _await_reply
    nbval.kernel.RunningKernel.get_message = _get_message
    nbval.kernel.RunningKernel.execute_cell_input = _execute_cell_input


def pytest_sessionfinish(session):
    if _State.spare is not None:
        _State.spare.shutdown_kernel()
        shutil.rmtree(_State.spare.scratch, ignore_errors=True)


def _grading(item) -> dict:
    return item.parent.nb.metadata["rwlib_grading"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.parent.timed_out = False  # a timed-out cell fails alone; the next cells still run
    timeouts = _grading(item).get("timeouts", {})
    _State.deadline_seconds = timeouts.get(cell_grade_id(item.cell))


def _stdout(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


_EXCEPTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,79}")


def _record(item, excinfo) -> dict:  # noqa: PLR0911 (one return per kind of outcome)
    """What happened in one cell: ok, exception, timeout or died, and what it printed.

    Of an exception only its type's name is kept (what a student's code raises could
    carry anything it can read, e.g. the sources of earlier hidden tests).
    """
    stdout = _stdout(item.test_outputs or [])
    if excinfo is None:
        return {"outcome": "ok", "stdout": stdout}
    error = excinfo.value
    text = str(error.args[0]) if isinstance(error, NbCellError) and error.args else str(error)
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
        record["reference"] = _stdout(item.cell.get("outputs", []))
        records[item.cell_num] = (cell_grade_id(item.cell), record)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    if nextitem is not None and nextitem.parent is item.parent:
        return
    for scratch in _State.scratches:  # the notebook's kernel has stopped (or died) by now
        shutil.rmtree(scratch, ignore_errors=True)
    _State.scratches.clear()
    grading = _grading(item)
    by_id = {gid: record for gid, record in item.parent.__dict__.get("rwlib_records", {}).values()}
    questions = [question_result(question, by_id) for question in grading["questions"]]
    questions += [
        QuestionResult(q["id"], q["points"], "manual", manual=True) for q in grading["manual"]
    ]
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
