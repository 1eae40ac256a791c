"""Routes: loaded from the environment as JSON or from a JSON/YAML file, validated, and matched to notices
by event, severity and stage (decide's pure routing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from notifykit import notice
from pydantic import ValidationError

from selfheal.decide.notify import routes_for
from selfheal.decide.plan_model import NoticeEvent
from selfheal.settings import NotifyRoute, Settings

ROUTES = [
    {"name": "all", "kind": "slack", "url": "https://hooks.slack.com/services/T0/B0/X"},
    {"name": "pager", "kind": "pagerduty", "routing_key": "k", "min_severity": "high"},
    {
        "name": "wave2",
        "kind": "slack",
        "url": "https://hooks.slack.com/services/T0/B0/Y",
        "stages": ["wave_2"],
    },
    {
        "name": "closures",
        "kind": "slack",
        "url": "https://hooks.slack.com/services/T0/B0/Z",
        "events": ["opened", "resolved"],
    },
]


def test_routes_from_env_json_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELFHEAL_NOTIFY_ROUTES", json.dumps(ROUTES))
    assert [r.name for r in Settings().notify_routes] == ["all", "pager", "wave2", "closures"]
    as_json = tmp_path / "routes.json"
    as_json.write_text(json.dumps(ROUTES))
    monkeypatch.setenv("SELFHEAL_NOTIFY_ROUTES", str(as_json))
    assert len(Settings().notify_routes) == 4
    as_yaml = tmp_path / "routes.yaml"
    as_yaml.write_text(
        "routes:\n"
        "  - name: oncall\n    kind: pagerduty\n    routing_key: R0UT1NGKEY\n    min_severity: critical\n"
        "  - name: ops\n    kind: slack\n    url: https://hooks.slack.com/services/T0/B0/X\n"
        "    stages: [wave_1, wave_2]\n"
    )
    monkeypatch.setenv("SELFHEAL_NOTIFY_ROUTES", str(as_yaml))
    routes = Settings().notify_routes
    assert routes[0].routing_key is not None and routes[0].routing_key.get_secret_value() == "R0UT1NGKEY"
    assert routes[1].stages == ("wave_1", "wave_2")
    assert "R0UT1NGKEY" not in repr(routes)


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ([{"name": "s", "kind": "slack"}], "needs `url`"),
        ([{"name": "p", "kind": "pagerduty"}], "needs `routing_key`"),
        ([{"name": "x", "kind": "teams", "url": "u"}], "kind"),
        ([{"name": "s", "kind": "slack", "url": "u", "min_severity": "huge"}], "min_severity"),
        ([{"name": "s", "kind": "slack", "url": "u", "colour": "red"}], "colour"),
        ([ROUTES[0], ROUTES[0]], "repeated: all"),
    ],
)
def test_bad_routes_are_refused_with_the_reason(routes: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(notify_routes=json.dumps(routes))  # type: ignore[arg-type]
    assert message in str(info.value)


def test_routing_by_event_severity_and_stage() -> None:
    routes = [NotifyRoute.model_validate(r) for r in ROUTES]
    assert routes_for(notice(severity="critical"), routes) == ("all", "pager", "closures")
    assert routes_for(notice(severity="medium"), routes) == ("all", "closures")
    assert routes_for(notice(severity="high", stages=("wave_2",)), routes) == (
        "all",
        "pager",
        "wave2",
        "closures",
    )
    assert routes_for(notice(NoticeEvent.waiting, severity="low"), routes) == ("all",)
    assert routes_for(notice(NoticeEvent.resolved, severity="low"), routes) == ("all", "closures")
