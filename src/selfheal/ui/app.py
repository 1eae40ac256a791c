"""selfheal UI (Streamlit). Run with `selfheal ui`; it talks to the API over HTTP only.

Each page is a script in pages/; this entry point sets up the shared sidebar and the navigation.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from selfheal.ui.common import sidebar

HERE = Path(__file__).parent

PAGES = (
    ("overview", "Overview", "🩺"),
    ("run", "Run", "▶️"),
    ("anomalies", "Anomalies", "📈"),
    ("clusters", "Clusters", "🗂️"),
    ("assessment", "Assessment", "🧭"),
    ("knowledge", "Knowledge", "📚"),
    ("actions", "Actions", "✅"),
    ("audit", "Audit", "📜"),
)


def main() -> None:
    st.set_page_config(page_title="selfheal", page_icon="🩺", layout="wide")
    pages = [
        st.Page(str(HERE / "pages" / f"{name}.py"), title=title, icon=icon, url_path=name, default=i == 0)
        for i, (name, title, icon) in enumerate(PAGES)
    ]
    page = st.navigation(pages)
    sidebar()
    page.run()


main()
