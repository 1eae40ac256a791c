"""What every page shares: the API client, who the caller is, the window, the time zone, error display."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import streamlit as st

from selfheal.auth import ROLE_RANK, Role
from selfheal.client import ApiError, NotAvailable, SelfhealClient, Unreachable
from selfheal.settings import Settings
from selfheal.ui import format as fmt

T = TypeVar("T")

WINDOW_CHOICES = (15, 30, 60, 120, 240, 720, 1440)
REFRESH_CHOICES = (10, 30, 60, 300)


def client() -> SelfhealClient:
    """The session's client, rebuilt when the address or key typed in the sidebar changes.

    Empty sidebar fields mean the configured defaults (SELFHEAL_API_URL, SELFHEAL_API_KEY). A replaced
    client is not closed: a page may still hold it during this run."""
    wanted = (
        str(st.session_state.get("api_url") or "").strip() or None,
        str(st.session_state.get("api_key") or "").strip() or None,
    )
    current: SelfhealClient | None = st.session_state.get("_client")
    if current is None or st.session_state.get("_client_for") != wanted:
        current = SelfhealClient.from_settings(Settings(), base_url=wanted[0], api_key=wanted[1])
        st.session_state["_client"] = current
        st.session_state["_client_for"] = wanted
        st.session_state.pop("_whoami", None)
    return current


def show_error(exc: ApiError, what: str = "") -> None:
    """The message and how to fix it; never a stack trace."""
    if isinstance(exc, NotAvailable):
        st.info(
            f"{what + ': ' if what else ''}this capability is not available on this server.",
            icon=":material/info:",
        )
    elif isinstance(exc, Unreachable):
        st.error(exc.message, icon=":material/cloud_off:")
    else:
        st.error(f"{what + ': ' if what else ''}{exc.message}", icon=":material/error:")
    if exc.hint:
        st.caption(f"How to fix it: {exc.hint}")


def call(fn: Callable[[], T], what: str = "") -> T | None:
    """Run an API call; on failure show the error and return None."""
    try:
        return fn()
    except ApiError as exc:
        show_error(exc, what)
        return None


def whoami() -> dict[str, Any] | None:
    """The caller's name and role, cached per session; None when the API cannot say."""
    api = client()  # first: a changed address or key drops the cached answer
    if "_whoami" not in st.session_state:
        try:
            st.session_state["_whoami"] = api.whoami()
            st.session_state.pop("_whoami_error", None)
        except NotAvailable:
            st.session_state["_whoami"] = {"name": "unknown", "role": None, "auth_mode": "unknown"}
        except ApiError as exc:
            st.session_state["_whoami_error"] = exc
            return None
    me: dict[str, Any] = st.session_state["_whoami"]
    return me


def permission(need: Role) -> tuple[bool, str]:
    """Whether the caller's role allows an operation, and if not, why (for the disabled button)."""
    me = whoami()
    role = (me or {}).get("role")
    if role is None:
        # Unknown role: let the server decide (it answers 403 with the reason).
        return True, ""
    if ROLE_RANK[Role(role)] >= ROLE_RANK[need]:
        return True, ""
    return False, f"Your role is {role}; this needs {need.value} or higher. Ask an admin for such a key."


def tz() -> str:
    """The viewer's time zone: chosen in the sidebar, else the browser's, else UTC."""
    chosen = st.session_state.get("tz")
    if chosen:
        return str(chosen)
    browser = None
    try:
        browser = st.context.timezone
    except Exception:
        browser = None
    return browser or "UTC"


def when(value: str | datetime | None, seconds: bool = False) -> str:
    return fmt.when(value, tz(), seconds)


def as_of() -> str | None:
    """The window's end as ISO 8601 (None = now), from the sidebar."""
    text = str(st.session_state.get("as_of") or "").strip()
    if not text:
        return None
    try:
        return fmt.parse_time(text).isoformat()  # type: ignore[union-attr]
    except ValueError:
        return None


def window() -> int:
    return int(st.session_state.get("window_minutes") or 60)


def refresh_every() -> int | None:
    """Seconds between the live page's refreshes (sidebar), None when live refresh is off."""
    if not st.session_state.get("live", True):
        return None
    return int(st.session_state.get("refresh_seconds") or default_refresh())


def default_refresh() -> int:
    """The configured refresh interval (SELFHEAL_UI_REFRESH_SECONDS)."""
    return Settings().ui_refresh_seconds


def refresh_choices() -> tuple[int, ...]:
    """The sidebar's intervals, with the configured one among them."""
    return tuple(sorted({*REFRESH_CHOICES, default_refresh()}))


def updated() -> None:
    """When the page's figures were fetched, and how often they refresh."""
    every = refresh_every()
    now = fmt.when(datetime.now(UTC), tz(), seconds=True)
    st.caption(
        f":material/update: Updated {now}"
        + (f" · refreshes every {every} s" if every else " · live refresh is off (sidebar)")
    )


def sidebar() -> None:
    """Connection, identity, time zone and the window every page reads."""
    with st.sidebar:
        st.markdown("### Window")
        st.selectbox(
            "Length",
            WINDOW_CHOICES,
            index=WINDOW_CHOICES.index(60),
            format_func=fmt.minutes,
            key="window_minutes",
        )
        st.text_input(
            "As of",
            key="as_of",
            placeholder="now",
            help="End of the window, ISO 8601 (e.g. 2024-03-04T14:00Z) in UTC unless it names a zone. "
            "Empty means now; set it to replay the past.",
        )
        raw = str(st.session_state.get("as_of") or "").strip()
        if raw and as_of() is None:
            st.warning("Not a date and time; use e.g. 2024-03-04T14:00Z. Using now.")
        st.toggle(
            "Refresh by itself",
            value=True,
            key="live",
            help="Overview, Assessment and Actions fetch their figures again every few seconds.",
        )
        st.selectbox(
            "Every",
            (choices := refresh_choices()),
            index=choices.index(default_refresh()),
            format_func=lambda s: f"{s} s" if s < 60 else fmt.minutes(s // 60),
            key="refresh_seconds",
            disabled=not st.session_state.get("live", True),
        )
        st.divider()
        me = whoami()
        if me is not None and me.get("role"):
            st.markdown(f"Signed in as **{me['name']}** · {fmt.chip(str(me['role']), 'blue')}")
            if me.get("auth_mode") == "open":
                st.caption("Open demo mode: no key needed, everyone is admin.")
        elif me is not None:
            st.caption("This server does not say who you are; buttons are enabled and the server decides.")
        else:
            err = st.session_state.get("_whoami_error")
            if isinstance(err, ApiError):
                show_error(err)
        with st.expander("Connection"):
            st.text_input("API address", key="api_url", placeholder=client().base_url)
            st.text_input("API key", key="api_key", type="password", help="Sent as X-API-Key")
            st.text_input("Time zone", key="tz", placeholder=tz(), help="IANA name, e.g. Europe/Berlin")
            if st.button("Reconnect"):
                st.session_state.pop("_whoami", None)
                st.session_state.pop("_whoami_error", None)
                st.rerun()


def raw_json(label: str, data: Any) -> None:
    """Raw data for the curious, folded away."""
    with st.expander(label):
        st.json(data, expanded=False)
