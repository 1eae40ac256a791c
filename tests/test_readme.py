"""README must list every setting (regenerate with `selfheal settings`) and name the two commands first."""

from __future__ import annotations

from pathlib import Path

from selfheal.settings import settings_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_settings_table_is_current() -> None:
    text = README.read_text()
    start = text.index("<!-- settings:start -->") + len("<!-- settings:start -->")
    end = text.index("<!-- settings:end -->")
    assert text[start:end].strip() == settings_table().strip(), (
        "run `selfheal settings --update-readme README.md`"
    )


def test_readme_starts_with_the_two_commands() -> None:
    head = README.read_text()[:400]
    assert "make demo" in head
    assert "make test" in head
