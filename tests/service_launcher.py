"""Start the tests' service processes by forking a pre-warmed interpreter (a "zygote").

Why: the integration tests start ~225 service processes (`tests/harness.py` `ServiceProcess`).
A fresh `python -m services.x` spends 0.3-0.65 s CPU importing third-party libraries
(pydantic, paho, python-can, structlog, fastapi/uvicorn, cantools, ...) before any project
code runs: 100+ s of the suite's ~450 s CPU. A zygote imports those libraries once per
pytest worker and forks a child for each start; the child imports the project fresh.
Measured on tests/wican + tests/bic (`-n 2`, integration): 81-88 s CPU (user + sys) with
Popen, 42-43 s forked.

Nothing observable to the service differs from `python -m` / `python script.py`, as
tests/system/test_service_launcher.py checks both ways: the project's modules
(`services.*`, `shared.*`) are imported fresh in each child (the zygote never imports them),
its own pid, exactly the given environment, cwd, sys.path and sys.argv, fd 0 on /dev/null,
fds 1 and 2 on the log file, new sys.stdin/stdout/stderr, the signal dispositions a fresh
interpreter would have, and a normal interpreter exit (non-daemon threads joined, atexit
handlers, SystemExit/uncaught-exception exit codes, death by signal). What does differ: the
parent is the zygote, not pytest; /proc/<pid>/cmdline names the zygote; the string hash seed
is the zygote's; the child's address space also holds the libraries it did not import; a
traceback of an uncaught exception starts with three frames of this module.

Escape hatch: CANBRIDGE_TEST_FORK=0 starts every service with plain subprocess.Popen. A
start whose environment changes what the interpreter reads at startup (PYTHON* other than
PYTHONPATH, locale, coverage hooks) from what the zygote started with uses Popen too.

Protocol (JSON lines): the test process writes {"id", "argv", "env", "cwd", "log"} to the
zygote's stdin; the zygote answers {"id", "pid"} (or {"id", "error"}) and, when it reaps the
child, {"exited": id, "status": <wait status>}. Closing its stdin stops the zygote (it kills
and reaps any child left).
"""

from __future__ import annotations

# Only the standard library at module level: the zygote runs this file, and must hold no
# project module (and the test side needs nothing more).
import atexit
import contextlib
import gc
import importlib
import io
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: what the services import; the zygote imports them once (a missing one is skipped)
PRELOAD = (
    "runpy",
    "encodings.idna",
    "asyncio",
    "sqlite3",
    "statistics",
    "yaml",
    "structlog",
    "pydantic",
    "pydantic_settings",
    "paho.mqtt.client",
    "can",
    "cantools",
    "isotp",
    "msgpack",
    "prometheus_client",
    "fastapi",
    "fastapi.staticfiles",
    "starlette.applications",
    "uvicorn",
)

#: environment variables the interpreter (or a site .pth) reads at startup; a start that
#: differs from the zygote's in one of these uses Popen
_STARTUP_PREFIXES = ("PYTHON", "LC_")
_STARTUP_NAMES = ("LANG", "COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG")


def _startup_vars(env: dict[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in env.items()
        if k != "PYTHONPATH" and (k.startswith(_STARTUP_PREFIXES) or k in _STARTUP_NAMES)
    }


# --- test side -------------------------------------------------------------------------

#: called before each forked start; tests/conftest.py adds the check that refuses a
#: process started by a test not marked `integration` (as it does for Popen)
start_guards: list[Callable[[], None]] = []


class ZygoteGone(RuntimeError):
    """The zygote exited: no start and no exit status can come from it any more."""


class ForkedProcess:
    """A child of the zygote, with the parts of subprocess.Popen the tests use."""

    def __init__(self, zygote: _Zygote, args: list[str], request_id: int, pid: int) -> None:
        self.args = args
        self.pid = pid
        self._zygote = zygote
        self._id = request_id

    @property
    def returncode(self) -> int | None:
        return self._zygote.returncode(self._id)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        code = self._zygote.wait(self._id, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        return code

    def send_signal(self, sig: int) -> None:
        # the zygote reaps the child, so a pid it reaped a moment ago is gone: as Popen does
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _Zygote:
    """The test process's end: one zygote, a thread reading its answers."""

    def __init__(self, startup_env: dict[str, str]) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        for k in _startup_vars(env):
            del env[k]
        env.update(startup_env)
        self.startup_env = startup_env
        self.proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._cond = threading.Condition()
        self._lock = threading.Lock()
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self._codes: dict[int, int] = {}
        self._gone = False
        self._reader = threading.Thread(target=self._read, name="zygote-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self._cond:
                if "exited" in msg:
                    self._codes[msg["exited"]] = os.waitstatus_to_exitcode(msg["status"])
                else:
                    self._answers[msg["id"]] = msg
                self._cond.notify_all()
        with self._cond:
            self._gone = True
            self._cond.notify_all()

    def start(self, args: list[str], cwd: Path, env: dict[str, str], log: Path) -> ForkedProcess:
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
            request = {"id": request_id, "argv": args[1:], "env": env, "cwd": str(cwd)}
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({**request, "log": str(log)}).encode() + b"\n")
            self.proc.stdin.flush()
        with self._cond:
            self._cond.wait_for(lambda: request_id in self._answers or self._gone)
            answer = self._answers.pop(request_id, None)
        if answer is None:
            raise ZygoteGone("the service zygote exited (its stderr says why)")
        if "error" in answer:
            raise RuntimeError(f"the service zygote could not start {args}: {answer['error']}")
        return ForkedProcess(self, args, request_id, answer["pid"])

    def returncode(self, request_id: int) -> int | None:
        with self._cond:
            return self._returncode(request_id)

    def _returncode(self, request_id: int) -> int | None:
        if request_id in self._codes:
            return self._codes[request_id]
        if self._gone:
            raise ZygoteGone("the service zygote exited before its child did")
        return None

    def wait(self, request_id: int, timeout: float | None) -> int | None:
        with self._cond:
            self._cond.wait_for(lambda: request_id in self._codes or self._gone, timeout)
            return self._returncode(request_id)

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)
        self._reader.join(30)


_zygote: _Zygote | None = None


def forking() -> bool:
    return os.environ.get("CANBRIDGE_TEST_FORK", "1") != "0"


def start(
    args: list[str], cwd: Path, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes] | ForkedProcess:
    """`args` (sys.executable first) with this environment and cwd, stdout and stderr to
    `log`: forked from the zygote, or a plain Popen (CANBRIDGE_TEST_FORK=0, an interpreter
    option, or a startup variable the zygote does not share)."""
    global _zygote
    log.write_bytes(b"")
    forkable = (
        forking()
        and args[0] == sys.executable
        and len(args) > 1
        and (args[1] == "-m" or not args[1].startswith("-"))
    )
    if forkable:
        for guard in start_guards:
            guard()
    if forkable and _zygote is None:
        _zygote = _Zygote(_startup_vars(env))
        atexit.register(stop)
    if not forkable or _zygote is None or _startup_vars(env) != _zygote.startup_env:
        with open(log, "wb") as out:
            return subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    return _zygote.start(args, cwd, env, log)


def stop() -> None:
    """Stop this process's zygote (tests/conftest.py at the end of the session)."""
    global _zygote
    zygote, _zygote = _zygote, None
    if zygote is not None:
        zygote.stop()


# --- zygote side -----------------------------------------------------------------------


def _serve(initial_signals: dict[int, Any]) -> dict[str, Any] | None:
    """Answer requests until stdin closes (returns None), or return the request in a child."""
    requests, answers = os.dup(0), os.dup(1)  # os.dup: not inheritable
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)  # a stray print of a library goes to stderr, not into the answers
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wakeup fd is written
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # pytest stops the zygote by closing stdin
    children: dict[int, int] = {}  # pid -> request id

    def answer(msg: dict[str, Any]) -> None:
        os.write(answers, json.dumps(msg).encode() + b"\n")

    def reap(flags: int) -> None:
        while children:
            try:
                pid, status = os.waitpid(-1, flags)
            except ChildProcessError:
                return
            if pid == 0:
                return
            answer({"exited": children.pop(pid), "status": status})

    pending = b""
    while True:
        readable, _, _ = select.select([requests, wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 4096)
        reap(os.WNOHANG)
        if requests not in readable:
            continue
        chunk = os.read(requests, 1 << 20)
        if not chunk:
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            reap(0)
            return None
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            if threading.active_count() != 1:
                answer({"id": request["id"], "error": "the zygote has a thread: cannot fork"})
                continue
            gc.freeze()  # the inherited objects stay out of the child's collections
            pid = os.fork()
            if pid == 0:
                signal.set_wakeup_fd(-1)
                for fd in (requests, answers, wake_r, wake_w):
                    os.close(fd)
                for sig, handler in initial_signals.items():
                    if signal.getsignal(sig) != handler:
                        signal.signal(sig, handler)
                return request
            children[pid] = request["id"]
            answer({"id": request["id"], "pid": pid})


def _stdio(fd: int, name: str, write: bool, like: io.TextIOWrapper) -> io.TextIOWrapper:
    """What the interpreter makes of fd 0/1/2 at startup (Python/pylifecycle.c create_stdio)."""
    buffered = not os.environ.get("PYTHONUNBUFFERED")  # (-u is never passed here)
    raw = io.FileIO(fd, "w" if write else "r", closefd=False)
    raw.name = name
    buf: Any = raw
    if buffered or not write:
        buf = io.BufferedWriter(raw) if write else io.BufferedReader(raw)
    text = io.TextIOWrapper(
        buf,
        encoding=like.encoding,
        errors=like.errors,
        newline="\n",
        line_buffering=buffered and (raw.isatty() or fd == 2),
        write_through=not buffered,
    )
    text.mode = "w" if write else "r"  # type: ignore[misc]
    return text


def _become(request: dict[str, Any], base_path: list[str]) -> None:
    """In the child: the process state `python <argv>` started by Popen would have."""
    env: dict[str, str] = request["env"]
    os.environ.clear()
    os.environ.update(env)
    os.chdir(request["cwd"])
    time.tzset()  # TZ: as read at startup
    log = os.open(request["log"], os.O_WRONLY)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        stream = _stdio(fd, f"<{name}>", fd > 0, getattr(sys, f"__{name}__"))
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    argv: list[str] = request["argv"]
    # sys.path[0]: the cwd for -m, the script's folder for a script
    first = os.getcwd() if argv[0] == "-m" else os.path.dirname(os.path.realpath(argv[0]))
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [first, *extra, *base_path]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    # `python -m mod a b`: ["-m", "a", "b"] until runpy puts the module's file first
    sys.argv = ["-m", *argv[2:]] if argv[0] == "-m" else list(argv)
    sys.orig_argv = [sys.executable, *argv]
    main = types.ModuleType("__main__")
    for alias in ("__main__", "__mp_main__"):  # multiprocessing's alias, where imported
        if alias in sys.modules:
            sys.modules[alias] = main


def _run(argv: list[str]) -> None:
    """Run the module or script as __main__, as the interpreter does; exceptions (SystemExit
    too) go up to the interpreter, which reports and exits as a fresh one would."""
    if argv[0] == "-m":
        import runpy

        # what `python -m` calls (Modules/main.c pymain_run_module)
        run_module_as_main = runpy._run_module_as_main  # type: ignore[attr-defined]
        run_module_as_main(argv[1], alter_argv=True)
        return
    import builtins
    from importlib.machinery import SourceFileLoader

    path = os.path.abspath(argv[0])
    main = sys.modules["__main__"]
    main.__dict__.update(
        __file__=path,
        __cached__=None,
        __builtins__=builtins,
        __loader__=SourceFileLoader("__main__", path),
    )
    with open(path, "rb") as source:
        code = compile(source.read(), path, "exec")
    exec(code, main.__dict__)


def _zygote_main() -> None:
    here = os.path.dirname(os.path.realpath(__file__))
    initial_signals: dict[int, Any] = {
        sig: handler
        for sig in signal.valid_signals()
        if (handler := signal.getsignal(sig)) is not None
    }
    base_path = [p for p in sys.path[1:]]
    sys.path[:] = base_path  # tests/ holds namespace packages: not for the libraries
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError as e:
            print(f"service zygote: not preloaded: {name}: {e}", file=sys.stderr)
    project = os.path.dirname(here) + os.sep
    venv = os.path.realpath(sys.prefix) + os.sep  # may lie inside the project (.venv)
    for name, module in list(sys.modules.items()):
        origin = os.path.realpath(getattr(module, "__file__", None) or "/")
        ours = origin.startswith(project) and not origin.startswith(venv)
        assert module is sys.modules["__main__"] or not ours, (
            f"the zygote imported the project's {name}: it must stay fresh in each child"
        )
    request = _serve(initial_signals)
    if request is not None:
        _become(request, base_path)
        _run(request["argv"])


if __name__ == "__main__":
    _zygote_main()
