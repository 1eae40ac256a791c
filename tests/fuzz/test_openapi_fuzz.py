"""A bounded Schemathesis run against the app's own OpenAPI document, on SQLite and PostgreSQL: every operation,
with generated valid and invalid parameters and bodies, must answer without a 5xx and only with a status its
operation declares. Each operation gets `SELFHEAL_FUZZ_EXAMPLES` generated cases (Hypothesis drives them)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from report import Tally
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from conftest import FUZZ_ADMIN_KEY, FUZZ_EXAMPLES
from selfheal.store import Store


def _fuzz(operation: Any, tally: Tally) -> None:
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers={"X-API-Key": FUZZ_ADMIN_KEY})
        tally.add(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance])

    check()


def test_every_operation_answers_as_declared(api_schema: Any, store: Store) -> None:
    tally = Tally("openapi", store.dialect)
    failures = []
    try:
        for result in api_schema.get_all_operations():
            operation = result.ok()
            try:
                _fuzz(operation, tally)
            except Exception as exc:  # collect every operation's failure, then report them together
                failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    finally:
        tally.write()
    assert not failures, "\n\n".join(failures)
