#!/bin/sh
# Regenerate the README's screenshots (docs/screenshots/*.png) at 1440 px with Playwright and Debian's chromium
# (/usr/bin/chromium, or SELFHEAL_CHROMIUM; never a browser download). They come from the demo-story test
# (tests/ui/test_demo_story.py): a webhook 403 incident on wave_1, its fix approved and executed from the CLI,
# every page photographed while the incident is `recovering` with the fix's verdict on screen.
#
#   scripts/screenshots.sh            (from the repository root; about 5 minutes)
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python
SELFHEAL_STORY_SCREENSHOTS=docs SELFHEAL_REQUIRE_BROWSER=1 PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}" \
    "$PYTHON" -m pytest -q -p no:cacheprovider tests/ui/test_demo_story.py "$@"
ls -l docs/screenshots
