"""The Prometheus source against a real Prometheus server (Debian's `prometheus`), started here on a free port
with a temporary config, scraping every second a target these tests serve (prometheus-client, exposition
format). Skipped only when the binary is missing and SELFHEAL_REQUIRE_PROMETHEUS is unset (CI sets it)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from sqlalchemy import select
from typer.testing import CliRunner

from selfheal.cli.main import app as cli_app
from selfheal.connect.prometheus import PromSource, parse_source, pull
from selfheal.cycle import CycleDeps
from selfheal.errors import InvalidInput, UpstreamError
from selfheal.records import ms_to_dt, utcnow
from selfheal.schedule.scheduler import Scheduler
from selfheal.settings import AuthMode, Settings
from selfheal.store import Store
from selfheal.store.tables import MetricPointRow

BINARY = shutil.which("prometheus") or "/usr/bin/prometheus"
SHOP_A = {"checkout_attempts": 40, "orders": 30, "revenue": 1234.5, "p95_latency_ms": 250.0}
SHOP_B = {"checkout_attempts": 10, "orders": 9, "revenue": 99.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str


def _wait_for_samples(url: str, deadline: float) -> None:
    """Until the server answers ready and holds a few seconds of the target's samples."""
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                now = time.time()
                res = client.get(
                    f"{url}/api/v1/query_range",
                    params={"query": "shop_orders", "start": now - 10, "end": now, "step": 1},
                )
                result = res.json()["data"]["result"] if res.status_code == 200 else []
                if len(result) == 2 and min(len(r["values"]) for r in result) >= 5:
                    return
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.5)
    raise AssertionError(f"Prometheus at {url} had no samples of the test target in time")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not os.path.exists(BINARY):
        reason = f"no Prometheus binary at {BINARY} (apt-get install prometheus)"
        if os.environ.get("SELFHEAL_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    registry = CollectorRegistry()
    gauges = {
        "checkout_attempts": Gauge(
            "shop_checkout_attempts", "attempts", ["merchant_id", "migration_stage"], registry=registry
        ),
        "orders": Gauge("shop_orders", "orders", ["merchant_id", "migration_stage"], registry=registry),
        "revenue": Gauge("shop_revenue", "revenue", ["merchant_id", "migration_stage"], registry=registry),
        "p95_latency_ms": Gauge(
            "shop_p95_latency_ms", "p95", ["merchant_id", "migration_stage"], registry=registry
        ),
    }
    for merchant, stage, values in (("shop-a", "wave_1", SHOP_A), ("shop-b", "legacy", SHOP_B)):
        for name, value in values.items():
            gauges[name].labels(merchant, stage).set(value)
    target_port = _free_port()
    target, _thread = start_http_server(target_port, addr="127.0.0.1", registry=registry)

    root = tmp_path_factory.mktemp("prometheus")
    port = _free_port()
    config = root / "prometheus.yml"
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {"job_name": "shop", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}
                ],
            }
        )
    )
    log = (root / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_samples(url, time.monotonic() + 90)
        yield Server(url=url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        target.shutdown()
        target.server_close()


def source_config(**changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "step_seconds": 1,
        "lag_seconds": 0,
        "merchants": {"shop-a": "m-001"},
        "currency": "EUR",
        "queries": [
            {
                "name": "attempts",
                "feeds": "checkout_attempts",
                "expr": "max by (merchant_id, migration_stage) (shop_checkout_attempts)",
            },
            {
                "name": "orders",
                "feeds": "orders",
                "expr": "max by (merchant_id, migration_stage) (shop_orders)",
            },
            {
                "name": "revenue",
                "feeds": "revenue",
                "expr": "max by (merchant_id, migration_stage) (shop_revenue)",
            },
            {"name": "p95", "feeds": "p95_latency_ms", "expr": "max by (merchant_id) (shop_p95_latency_ms)"},
        ],
    }
    config.update(changes)
    return config


def stored_points(store: Store) -> list[dict[str, Any]]:
    with store.read() as conn:
        rows = conn.execute(
            select(MetricPointRow.__table__).order_by(MetricPointRow.merchant_id, MetricPointRow.ts_ms)
        )
        return [dict(r._mapping) for r in rows]


def test_pull_stores_kpi_points_from_a_real_server(prometheus: Server, store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, prometheus_url=prometheus.url)
    source = parse_source(source_config())
    until = utcnow()
    result = pull(store, settings, source, since=until - timedelta(seconds=12), until=until)
    rows = stored_points(store)
    assert result.stored == len(rows) == result.points and result.incomplete == 0
    by_merchant: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_merchant.setdefault(r["merchant_id"], []).append(r)
    assert set(by_merchant) == {"m-001", "shop-b"}  # shop-a mapped; shop-b kept as labelled
    assert all(len(v) >= 4 for v in by_merchant.values())
    for r in by_merchant["m-001"]:
        assert (r["checkout_attempts"], r["orders"], r["revenue"], r["p95_latency_ms"]) == (
            40,
            30,
            1234.5,
            250.0,
        )
        assert r["migration_stage"] == "wave_1" and r["currency"] == "EUR" and r["interval_seconds"] == 1
    for r in by_merchant["shop-b"]:
        assert (r["checkout_attempts"], r["orders"], r["revenue"]) == (10, 9, 99.0)
        assert r["p95_latency_ms"] is None  # an optional field with no series stays absent
        assert r["migration_stage"] == "legacy"
    # one point per second, each the interval before its evaluation
    ts = [r["ts_ms"] for r in by_merchant["m-001"]]
    assert all(b - a == 1000 for a, b in itertools.pairwise(ts))
    assert ms_to_dt(ts[-1]) <= until - timedelta(seconds=1)

    again = pull(store, settings, source, since=until - timedelta(seconds=12), until=until)
    assert again.stored == 0 and again.duplicates == result.stored
    assert len(stored_points(store)) == len(rows)


def test_a_merchant_missing_a_required_field_is_incomplete(
    prometheus: Server, store: Store, tmp_path: Path
) -> None:
    config = source_config()
    config["queries"][2]["expr"] = 'max by (merchant_id) (shop_revenue{merchant_id="shop-a"})'
    settings = Settings(data_dir=tmp_path, prometheus_url=prometheus.url)
    until = utcnow()
    result = pull(store, settings, parse_source(config), since=until - timedelta(seconds=8), until=until)
    assert result.incomplete >= 3 and result.stored >= 3
    assert {r["merchant_id"] for r in stored_points(store)} == {"m-001"}


def test_a_bad_expression_is_prometheus_own_error(prometheus: Server, store: Store, tmp_path: Path) -> None:
    config = source_config()
    config["queries"][0]["expr"] = "sum(shop_orders"
    settings = Settings(data_dir=tmp_path, prometheus_url=prometheus.url)
    with pytest.raises(UpstreamError, match="bad_data"):
        pull(store, settings, parse_source(config), since=utcnow() - timedelta(seconds=5))
    assert stored_points(store) == []


def test_the_config_must_feed_the_required_fields() -> None:
    config = source_config()
    config["queries"] = config["queries"][:2]
    with pytest.raises(InvalidInput, match="missing: revenue"):
        parse_source(config)
    with pytest.raises(InvalidInput, match="feeds"):
        parse_source({**source_config(), "queries": [{"name": "x", "feeds": "conversion", "expr": "up"}]})
    assert isinstance(parse_source(source_config()), PromSource)


def test_an_unreachable_server_is_an_upstream_error(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, prometheus_url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(UpstreamError, match="did not answer"):
        pull(store, settings, parse_source(source_config()), since=utcnow() - timedelta(seconds=5))


def test_the_scheduler_leader_pulls_on_its_tick(prometheus: Server, tmp_path: Path) -> None:
    config = tmp_path / "prometheus-source.yaml"
    config.write_text(
        "step_seconds: 1\nlag_seconds: 0\nqueries:\n"
        + "".join(
            f"  - {{name: {q['name']}, feeds: {q['feeds']}, expr: '{q['expr']}'}}\n"
            for q in source_config()["queries"]
        )
    )
    settings = Settings(
        data_dir=tmp_path,
        auth_mode=AuthMode.open,
        cycle_every=60,
        prometheus_url=prometheus.url,
        prometheus_config=config,
        prometheus_pull_every=30,
        prometheus_lookback_minutes=1,
    )
    store = Store.open(settings.resolved_database_url())
    try:
        scheduler = Scheduler(CycleDeps(store=store, settings=settings))
        scheduler.tick()
        assert scheduler.state.pulls == 1 and scheduler.state.pull_errors == 0
        assert scheduler.state.pulled_points == len(stored_points(store)) > 0
        scheduler.tick()  # not due again for 30 s
        assert scheduler.state.pulls == 1
        assert {r["merchant_id"] for r in stored_points(store)} == {"shop-a", "shop-b"}
    finally:
        scheduler.leadership.resign()
        store.dispose()


def test_the_pull_command(prometheus: Server, tmp_path: Path) -> None:
    config = tmp_path / "source.json"
    config.write_text(json.dumps(source_config()))
    db = tmp_path / "cli.db"
    env = {"SELFHEAL_DATABASE_URL": f"sqlite:///{db}", "SELFHEAL_DATA_DIR": str(tmp_path)}
    res = CliRunner().invoke(
        cli_app,
        [
            "connectors",
            "prometheus",
            "pull",
            "--since",
            "10s",
            "--config",
            str(config),
            "--url",
            prometheus.url,
        ],
        env=env,
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["stored"] > 0 and out["incomplete"] == 0
    store = Store.open(f"sqlite:///{db}")
    try:
        assert len(stored_points(store)) == out["stored"]
    finally:
        store.dispose()
    bad = CliRunner().invoke(
        cli_app, ["connectors", "prometheus", "pull", "--since", "soon", "--config", str(config)], env=env
    )
    assert bad.exit_code == 1
