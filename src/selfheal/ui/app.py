"""selfheal UI (Streamlit). Run with `selfheal ui`; it talks to the API over HTTP only.

Each page is a script in views/ (not `pages/`: Streamlit would list that folder's file names in the sidebar
before `st.navigation` runs); this entry point sets up the shared sidebar and the navigation.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from selfheal.ui.common import sidebar

HERE = Path(__file__).parent
log = logging.getLogger("selfheal.ui")

PAGES = (
    ("overview", "Overview", ":material/monitor_heart:"),
    ("run", "Run", ":material/play_circle:"),
    ("anomalies", "Anomalies", ":material/show_chart:"),
    ("themes", "Themes", ":material/category:"),
    ("assessment", "Assessment", ":material/troubleshoot:"),
    ("runbooks", "Runbooks", ":material/menu_book:"),
    ("actions", "Actions", ":material/task_alt:"),
    ("audit", "Audit", ":material/receipt_long:"),
)


def main() -> None:
    st.set_page_config(page_title="selfheal", page_icon=":material/monitor_heart:", layout="wide")
    pages = [
        st.Page(str(HERE / "views" / f"{name}.py"), title=title, icon=icon, url_path=name, default=i == 0)
        for i, (name, title, icon) in enumerate(PAGES)
    ]
    page = st.navigation(pages)
    sidebar()
    try:
        page.run()
    except Exception as exc:  # a bug in the UI itself: say so plainly, keep the trace in the server log
        log.exception("page %s failed", page.title)
        st.error(
            f"This page hit an unexpected error ({exc.__class__.__name__}: {exc}).",
            icon=":material/bug_report:",
        )
        st.caption(
            "How to fix it: reload the page; if it persists, the terminal running `selfheal ui` has the details "
            "for a bug report."
        )


main()
