"""What starting the command line and the API loads: `selfheal --help` must not load the heavy stacks, and
the API must run without the UI's packages (an API-only install has no Streamlit or Plotly)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from selfheal.cli.admin import ACTION_STATUSES, RISKS
from selfheal.cli.cluster import METHODS

SRC = str(Path(__file__).resolve().parents[2] / "src")
HEAVY = (
    "torch",
    "sentence_transformers",
    "transformers",
    "streamlit",
    "plotly",
    "pandas",
    "scipy",
    "sqlalchemy",
)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=300
    )


def test_importing_the_cli_loads_no_heavy_stack() -> None:
    done = _python(
        f"""
        import json, sys
        import selfheal.cli.main
        print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
        """
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_help_lists_the_commands_without_loading_them() -> None:
    done = _python(
        """
        import sys
        from selfheal.cli.main import main
        sys.argv = ["selfheal", "actions", "--help"]
        try:
            main()
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        assert "torch" not in sys.modules and "sqlalchemy" not in sys.modules
        """
    )
    assert done.returncode == 0, done.stderr
    for command in ("approve", "reject", "execute", "cancel", "list", "show"):
        assert command in done.stdout


def test_the_api_and_the_detectors_run_without_the_ui_packages(tmp_path: Path) -> None:
    """An API-only install has no Streamlit, Plotly or pandas: the API, the detectors (every channel of the
    default one, on hourly data long enough for the weekly channel) and `selfheal detect` run without them."""
    csv_in = tmp_path / "kpi.csv"
    done = _python(
        f"""
        import sys
        from importlib.abc import MetaPathFinder

        class Block(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("streamlit", "plotly", "pandas"):
                    raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)")
                return None

        sys.meta_path.insert(0, Block())
        from fastapi.testclient import TestClient
        from selfheal.api.app import create_app
        from selfheal.settings import Settings

        settings = Settings(database_url="sqlite:///{tmp_path / "api.db"}", dense_embeddings=False)
        with TestClient(create_app(settings)) as client:
            assert client.get("/health").status_code == 200
            assert client.get("/openapi.json").status_code == 200

        import numpy as np
        from selfheal.cli.detect import score_csv
        from selfheal.reason.detect import make_detector

        hours = np.arange(24 * 21)
        values = 100 + 30 * np.sin(hours * 2 * np.pi / 24) + np.random.default_rng(1).normal(0, 3, len(hours))
        values[-30:] += 200  # a sustained jump at the end
        stamps = np.datetime64("2024-01-01T00:00") + hours.astype("timedelta64[h]")
        scores = make_detector("context").score(values, timestamps=stamps)
        assert scores[-30:].max() >= 0.5
        rows = [f"{{t}},{{v:.3f}}" for t, v in zip(stamps.astype(str), values)]
        open({str(csv_in)!r}, "w").write("timestamp,value\\n" + "\\n".join(rows) + "\\n")
        found, warnings = score_csv(
            __import__("pathlib").Path({str(csv_in)!r}), __import__("pathlib").Path({str(tmp_path / "out.csv")!r})
        )
        assert found >= 1 and warnings == []
        assert not {{"streamlit", "plotly", "pandas"}} & set(sys.modules)
        """
    )
    assert done.returncode == 0, done.stderr


def test_the_cli_names_match_the_core() -> None:
    from selfheal.act.states import ActionStatus
    from selfheal.decide.model import Risk
    from selfheal.reason.cluster import METHODS as CORE_METHODS

    assert tuple(s.value for s in ActionStatus) == ACTION_STATUSES
    assert tuple(r.value for r in Risk) == RISKS
    assert tuple(CORE_METHODS) == METHODS
