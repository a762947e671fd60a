"""Property-based tests of the JSON API against its own OpenAPI schema (schemathesis): logged in as an analyst,
every operation is called with generated valid and invalid input; no answer may be a server error and every
answer must match the schema (including the documented 401/403/404/422 shapes). Seeded, so runs repeat."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance
from tests.app.conftest import Workbench

from youshu.app.security import SESSION_COOKIE

#: Generated cases per operation and mode: enough to reach every parameter, small enough for ~1 minute in all.
EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance]


def test_every_operation_answers_without_server_errors_and_as_documented(workbench: Workbench) -> None:
    client = workbench.client("analyst")
    cookies = {SESSION_COOKIE: client.cookies[SESSION_COOKIE]}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", workbench.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures: list[str] = []
    for operation in operations:
        modes = [schemathesis.GenerationMode.POSITIVE]
        if any(operation.iter_parameters()):  # nothing to make invalid in an operation without parameters
            modes.append(schemathesis.GenerationMode.NEGATIVE)
        for mode in modes:

            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                case.call_and_validate(cookies=cookies, checks=CHECKS)

            try:
                call()
            # collect every operation's failure, not just the first (a FailureGroup is a BaseExceptionGroup)
            except (Exception, FailureGroup) as exc:
                failures.append(f"{operation.label} [{mode.value}]: {type(exc).__name__}: {_short(exc)}")
    assert not failures, "\n\n".join(failures)


def _short(exc: BaseException) -> str:
    """The failure without the reproducing curl command (generated query strings run to kilobytes)."""
    text = str(exc).split("Reproduce with:")[0]
    if isinstance(exc, BaseExceptionGroup):
        text += " | ".join(str(e).split("Reproduce with:")[0][:800] for e in exc.exceptions)
    return text[:2000]
