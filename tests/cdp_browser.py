"""Headless Chromium driven over the DevTools protocol on a pipe (no extra packages).

`--remote-debugging-pipe` makes Chromium read commands from fd 3 and write answers to fd 4,
each a JSON object ended by a NUL byte. Enough for the dashboard tests: open a page, evaluate
JavaScript (read the DOM, click, type), wait for a condition, set the window size, screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import CHROMIUM_FLAGS, SCREENSHOT_DIR, TIMEOUT, chromium


class BrowserError(AssertionError):
    pass


def _as_fds_3_and_4(commands: int, answers: int) -> None:
    """In the child: the pipe ends as fds 3 and 4 (copied high first, so none clobbers another)."""
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 20) for fd in (commands, answers)]
    os.dup2(high[0], 3)
    os.dup2(high[1], 4)


class Browser:
    def __init__(self, width: int = 1200, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="canbridge-cdp-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # the child sees them as fds 3 (commands in) and 4 (answers out)
        self.proc = subprocess.Popen(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=lambda: _as_fds_3_and_4(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)[
            "sessionId"
        ]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.resize(width, height)

    # --- protocol ----------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_chrome], [], [], remaining)[0]:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise BrowserError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT * 2
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self._events.append(answer)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """A command to the page's session."""
        return self.call(method, self.session, **params)

    # --- page --------------------------------------------------------------------------
    def open(self, url: str) -> None:
        self._events.clear()
        self.send("Page.navigate", url=url)
        self.wait(
            f"location.href === {json.dumps(url)} && document.readyState === 'complete'",
            f"{url} loaded",
        )

    def js(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait(self, expression: str, what: str, timeout: float = TIMEOUT) -> Any:
        """Until `expression` is truthy: re-checked in the page after each change of its DOM."""
        script = f"""new Promise((resolve, reject) => {{
            const check = () => {{ try {{ return ({expression}); }} catch (e) {{ return null; }} }};
            const first = check();
            if (first) return resolve(first);
            const timer = setTimeout(() => {{ observer.disconnect(); resolve(null); }},
                                     {int(timeout * 1000)});
            const observer = new MutationObserver(() => {{
                const value = check();
                if (value) {{ observer.disconnect(); clearTimeout(timer); resolve(value); }}
            }});
            observer.observe(document, {{subtree: true, childList: true, attributes: true,
                                         characterData: true}});
        }})"""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.js(script)
                break
            except BrowserError as exc:
                # the page navigated while waiting: ask again in the new document
                navigated = "navigated" in str(exc) or "context was destroyed" in str(exc)
                if not navigated or time.monotonic() > deadline:
                    raise
        if not value:
            raise BrowserError(f"timed out after {timeout:g} s waiting for {what}: {expression}")
        return value

    def text(self, selector: str) -> str:
        return self.js(
            f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent || ''"
        ).strip()

    def resize(self, width: int, height: int, mobile: bool = False) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        self.js("window.dispatchEvent(new Event('resize'))")

    def set_dark(self, dark: bool) -> None:
        self.send(
            "Emulation.setEmulatedMedia",
            features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}],
        )

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        """test-output/<name>.png (the whole page), for people and the README."""
        SCREENSHOT_DIR.mkdir(exist_ok=True)
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": size["width"],
                "height": size["height"],
                "scale": 1,
            }
        data = base64.b64decode(self.send("Page.captureScreenshot", **params)["data"])
        path = SCREENSHOT_DIR / f"{name}.png"
        path.write_bytes(data)
        print(f"screenshot: {path}")
        return path

    def close(self) -> None:
        with contextlib.suppress(BrowserError):
            self.call("Browser.close")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        shutil.rmtree(self.profile, ignore_errors=True)
