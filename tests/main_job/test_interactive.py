"""The main job in a real pseudo-terminal: the prompt, a streamed turn, and every way out.

The command runs with a pty as its terminal (so it prompts, colours and wraps as it does
for a user); the test types into the pty, then quits with Ctrl-D, Ctrl-C or SIGTERM and
checks that everything stopped cleanly.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from tests.main_job.test_travel_command import (
    CONFIG,
    ROOT,
    RUN_LIMIT,
    fake_apis,
    free_offset,
    keyless_env,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

COLUMNS = 64
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Terminal:
    """The test's side of a pty: what the program printed so far, and typing into it."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.seen = ""

    def expect(self, text: str, *, count: int = 1, limit: float = RUN_LIMIT) -> None:
        """Read until ``text`` has appeared ``count`` times (bounded by ``limit``)."""
        deadline = time.monotonic() + limit
        while self.seen.count(text) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {text!r}; got:\n{self.seen}"
            if not self._read(left):
                raise AssertionError(f"the program ended before {text!r}:\n{self.seen}")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def drain(self, limit: float = 10.0) -> None:
        """Read until the program closes the terminal."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and self._read(deadline - time.monotonic()):
            pass

    def plain(self) -> str:
        """The screen as text: no escapes, and a carriage return erases its line so far."""
        text = ANSI.sub("", self.seen).replace("\r\n", "\n")
        return re.sub(r"[^\n\r]*\r", "", text)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not ready:
            return True
        try:
            data = os.read(self.master, 4096)
        except OSError:  # EIO: every process holding the other side has ended
            return False
        if not data:
            return False
        self.seen += data.decode("utf-8", "replace")
        return True


def wait_for_keyboard(pid: int, limit: float = 10.0) -> None:
    """Wait until the program's main thread blocks waiting for a key, as a user's Ctrl-C
    finds it. (Readline prints the prompt a moment before it waits; CPython only notices
    a signal that lands in that moment at the next key, so the test must not hit it.)"""
    deadline = time.monotonic() + limit
    wchan = Path(f"/proc/{pid}/wchan")
    while "poll" not in wchan.read_text() and "select" not in wchan.read_text():
        assert time.monotonic() < deadline, f"never waited for a key ({wchan.read_text()})"
        time.sleep(0.01)


def run_in_terminal(tmp_path: Path, env: dict[str, str], ending: str) -> tuple[int, str]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    command = [
        sys.executable,
        "-m",
        "plano_asgi",
        "serve",
        CONFIG,
        "--chat",
        "--port-offset",
        str(free_offset()),
        "--log-file",
        str(tmp_path / "travel.log"),
    ]
    proc = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True
    )
    os.close(slave)
    terminal = Terminal(master)
    try:
        terminal.expect("you> ")
        terminal.type("What is the weather in Paris?\r")
        terminal.expect("you> ", count=2)
        if ending == "ctrl-d":
            terminal.type("\x04")
        else:
            wait_for_keyboard(proc.pid)
            proc.send_signal(signal.SIGINT if ending == "ctrl-c" else signal.SIGTERM)
        code = proc.wait(timeout=RUN_LIMIT)
        terminal.drain()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, terminal.plain()


@pytest.mark.parametrize("ending", ["ctrl-d", "ctrl-c", "sigterm"])
async def test_terminal_chat_streams_wraps_and_stops_cleanly(tmp_path: Path, ending: str) -> None:
    async with fake_apis() as (_, _, url):
        env = keyless_env(url, url)
        del env["NO_COLOR"]
        env["TERM"] = "xterm"
        with anyio.fail_after(RUN_LIMIT * 2):
            code, screen = await anyio.to_thread.run_sync(run_in_terminal, tmp_path, env, ending)

    assert code == {"ctrl-d": 0, "ctrl-c": 130, "sigterm": 143}[ending], screen
    assert "Traceback" not in screen
    assert "Ctrl-D, Ctrl-C or 'exit' quits." in screen
    assert "you> What is the weather in Paris?\n[weather_agent via local_v1]\n" in screen
    answer = screen.split("[weather_agent via local_v1]\n", 1)[1].split("\nyou> ", 1)[0]
    assert answer.startswith("Weather in Paris, Île-de-France, France:")
    assert "8.4 °C (47.1 °F)" in answer.replace("\n", " ")
    # Wrapped to the terminal, between words: no line is wider than the pty, and joining
    # the lines with blanks gives back the words the agent sent.
    assert all(len(line) < COLUMNS for line in answer.splitlines())
    assert "Source: Open-Meteo. Times are local (Europe/Paris)." in answer.replace("\n", " ")
    assert screen.rstrip().endswith("Stopping the listeners...")
