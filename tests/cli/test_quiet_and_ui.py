"""Loading the embedding model prints nothing (no "Loading weights" bar, no transformers warning), and the UI's
uploader takes the server's per-file limit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from selfheal.cli.serve import ui_command
from selfheal.embedding import dense_available
from selfheal.settings import Settings

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.mark.slow
@pytest.mark.skipif(not dense_available(), reason="the [embed] extra is not installed")
def test_loading_the_model_prints_nothing() -> None:
    code = (
        "from selfheal.embedding import load_dense_embedder\n"
        "print(load_dense_embedder().embed(['webhook 403']).shape)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": SRC},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(1, 384)"
    assert done.stderr == ""


def test_the_uploader_limit_is_the_servers() -> None:
    command = ui_command(Settings(kb_max_file_bytes=10 * 1024 * 1024), port=8600)
    assert command[command.index("--server.maxUploadSize") + 1] == "10"
    assert command[command.index("--server.port") + 1] == "8600"
    small = ui_command(Settings(kb_max_file_bytes=1000))
    assert small[small.index("--server.maxUploadSize") + 1] == "1"  # Streamlit counts whole MB
