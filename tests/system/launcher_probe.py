"""Run by tests/system/test_service_launcher.py, forked and by Popen: writes what a
service could observe of its start to $LAUNCHER_PROBE_OUT, then does what argv[1] says."""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
import time

import __main__

PROJECT_PACKAGES = ("services", "shared")


def stream(s) -> dict[str, object]:
    return {
        "type": type(s).__name__,
        "buffer": type(s.buffer).__name__,
        "name": s.buffer.name if hasattr(s.buffer, "name") else s.buffer.raw.name,
        "encoding": s.encoding,
        "errors": s.errors,
        "line_buffering": s.line_buffering,
        "write_through": s.write_through,
        "fileno": s.fileno(),
        "dunder_is_same": s is getattr(sys, f"__{s.name.strip('<>')}__"),
    }


def observed() -> dict[str, object]:
    fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    return {
        "argv": sys.argv,
        "orig_argv": sys.orig_argv[1:],
        "path": sys.path,
        "main": [__main__.__name__, __main__.__file__, getattr(__main__.__spec__, "name", None)],
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "fds": {fd: os.readlink(f"/proc/self/fd/{fd}") for fd in fds[:3]},
        "open_fds": len(fds),
        "pgrp_is_parent_test": os.getpgrp() == int(os.environ["LAUNCHER_PROBE_PGRP"]),
        "stdio": [stream(s) for s in (sys.stdin, sys.stdout, sys.stderr)],
        "signals": {str(int(sig)): repr(signal.getsignal(sig)) for sig in signal.valid_signals()},
        "blocked": sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "project_modules": sorted(
            m for m in sys.modules if m.split(".")[0] in ("services", "shared")
        ),
        "threads": threading.active_count(),
        "dont_write_bytecode": sys.dont_write_bytecode,
        "tz": time.tzname,
    }


def late_print() -> None:
    time.sleep(0.3)
    print("thread done")  # a non-daemon thread: the interpreter waits for it at exit


def main() -> None:
    with open(os.environ["LAUNCHER_PROBE_OUT"], "w") as out:
        json.dump(observed(), out, sort_keys=True, indent=1)
    what = sys.argv[1]
    print("to stdout")
    print("to stderr", file=sys.stderr)
    if what == "finish":
        atexit.register(lambda: print("atexit ran"))
        threading.Thread(target=late_print).start()
    elif what == "exit-3":
        sys.exit(3)
    elif what == "exit-message":
        sys.exit("exit message")
    elif what == "raise":
        raise ValueError("boom")
    elif what == "interrupt":
        raise KeyboardInterrupt
    elif what == "sleep":
        time.sleep(60)


if __name__ == "__main__":
    main()
