"""Ctrl-C on `selfheal demo`: one line, exit code 130, and its API child stopped with it (a real process tree)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_ctrl_c_stops_the_demo_and_its_children(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": SRC,
        "SELFHEAL_DATA_DIR": str(tmp_path / "data"),
        "SELFHEAL_DEMO_MERCHANTS": "3",
        "SELFHEAL_API_PORT": str(port),
        "SELFHEAL_DENSE_EMBEDDINGS": "false",
    }
    env.pop("SELFHEAL_DATABASE_URL", None)
    err = tmp_path / "err.txt"
    with err.open("w") as err_file:
        demo = subprocess.Popen(
            [sys.executable, "-m", "selfheal.cli", "demo", "--no-ui"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err_file,
        )
        try:
            deadline = time.monotonic() + 240
            while "Ctrl-C stops the demo" not in err.read_text():
                assert demo.poll() is None, err.read_text()
                assert time.monotonic() < deadline, err.read_text()
                time.sleep(0.5)
            assert _listening(port)
            demo.send_signal(signal.SIGINT)
            code = demo.wait(timeout=60)
        finally:
            if demo.poll() is None:
                demo.kill()
    text = err.read_text()
    assert code == 130, text
    assert text.rstrip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in text
    assert not _listening(port)  # the API child stopped with the demo
