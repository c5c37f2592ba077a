"""A real `segpipe serve` process on a free loopback port (helper, not a test file).

The tests talk to it over HTTP exactly as a dashboard would; its stderr (startup
lines, access log, tracebacks) is kept in a file the tests can read.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """`python -m segpipe serve ARGS --port P`, started and waited for; `stop()` ends it."""

    def __init__(self, *args, log_dir: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / f"serve-{self.port}.log"
        self._log = open(self.log_path, "w", encoding="utf-8")
        self.process = subprocess.Popen([sys.executable, "-m", "segpipe", "serve", *map(str, args),
                                         "--port", str(self.port)],
                                        stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"segpipe serve exited with {self.process.returncode}: {self.log()}")
            try:
                urllib.request.urlopen(self.base_url + "/healthz", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # it answers (503 before the first publish)
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"segpipe serve did not answer within {timeout} s: {self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def get(url: str, token: str | None = None, headers: dict | None = None, timeout: float = 30):
    """(status, headers, parsed JSON body or text) of a GET."""
    request = urllib.request.Request(url, headers={**({"Authorization": f"Bearer {token}"} if token else {}),
                                                   **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, head, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, head, body = exc.code, dict(exc.headers), exc.read()
    text = body.decode("utf-8")
    is_json = head.get("content-type", "").startswith("application/json") and text
    return status, {k.lower(): v for k, v in head.items()}, json.loads(text) if is_json else text
