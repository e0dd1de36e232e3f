"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), with the
standard library only: the tests read a page's DOM after load, its layout, its JavaScript dialogs, type
into it, and take screenshots. Used by the feedback pages' tests and the formgrader's."""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"     # Debian's package; CI installs it with apt


class Browser:
    """Headless Chromium over the DevTools protocol on a pipe: fd 3 carries commands in, fd 4 replies
    and events out, each a JSON message ended by a NUL byte."""

    def __init__(self, profile: Path):
        to_browser, self._to_browser = _high_pipe()
        self._from_browser, from_browser = _high_pipe()

        def on_fds():          # in the child, before exec: the pipe's ends where Chromium expects them
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "--no-first-run", "--hide-scrollbars",
             "--window-size=1280,900", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-quic", "about:blank"],
            preexec_fn=on_fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.stubs: dict[str, str] = {}      # URL prefix → the JavaScript served for it instead (see open)

    def send(self, method: str, session: str | None = None, timeout: float = 30, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event["method"] == method:
                    self.events.remove(event)
                    return event
            self._event(self._read(deadline))

    def _event(self, message: dict) -> None:
        if "method" not in message:
            return
        self.events.append(message)
        if message["method"] == "Fetch.requestPaused":               # a stubbed script: answer it here
            url = message["params"]["request"]["url"]
            body = next((js for prefix, js in self.stubs.items() if url.startswith(prefix)), "")
            os.write(self._to_browser, json.dumps({
                "id": 0, "method": "Fetch.fulfillRequest", "sessionId": message.get("sessionId"),
                "params": {"requestId": message["params"]["requestId"], "responseCode": 200,
                           "responseHeaders": [{"name": "Content-Type", "value": "text/javascript"}],
                           "body": base64.b64encode(body.encode()).decode()}}).encode() + b"\0")
        if message["method"] == "Page.javascriptDialogOpening":     # an alert would block the page
            os.write(self._to_browser, json.dumps({
                "id": 0, "method": "Page.handleJavaScriptDialog", "params": {"accept": True},
                "sessionId": message.get("sessionId")}).encode() + b"\0")

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium exited ({self.proc.poll()})")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def open(self, path: Path | str) -> Page:
        """A new tab with the file (or the ``http://`` URL) loaded (its load event fired). A request for
        a URL under one of :attr:`stubs` is answered with the stub (a script from a CDN this machine
        cannot reach)."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session)
        page.send("Page.enable")
        page.send("Runtime.enable")
        if self.stubs:
            page.send("Fetch.enable", patterns=[{"urlPattern": f"{prefix}*"} for prefix in self.stubs])
        page.send("Page.navigate", url=path if isinstance(path, str) else path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        page.send("Runtime.evaluate", expression="0", awaitPromise=False)   # let pending handlers run
        time.sleep(0.3)
        self.send("Target.getTargets")                                       # collect events sent meanwhile
        page.dialogs = [e["params"]["message"] for e in self.events
                        if e["method"] == "Page.javascriptDialogOpening" and e.get("sessionId") == session]
        return page

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


class Page:
    def __init__(self, browser: Browser, session: str):
        self.browser, self.session = browser, session
        self.dialogs: list[str] = []

    def send(self, method: str, **params) -> dict:
        return self.browser.send(method, session=self.session, **params)

    def js(self, expression: str):
        """A JavaScript expression's value (DevTools evaluation: the page's own CSP does not apply)."""
        reply = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def screenshot(self, rect: dict):
        from PIL import Image

        clip = {"x": rect["x"], "y": rect["y"], "width": rect["width"], "height": rect["height"], "scale": 1}
        data = self.send("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)["data"]
        return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends are above 4, so that putting them on fds 3 and 4 cannot overwrite each other."""
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return ends[0], ends[1]
