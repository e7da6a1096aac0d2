"""Property-based fuzzing of the OpenAPI schema (schemathesis) against the real server: no 5xx, and
responses conform to their documented schemas. Bounded to a few examples per operation."""

from __future__ import annotations

import schemathesis
from apitools import PASSWORDS, Server
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from backend.api.app import create_app
from backend.settings import load_settings

schema = schemathesis.openapi.from_dict(create_app(load_settings(demo_mode=True)).openapi())


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_schema_conformance(api: Server, case) -> None:
    who = "consumer" if "chip" in case.path.lower() or "Batch" in case.path else "admin"
    response = case.call(base_url=api.url, auth=(who, PASSWORDS[who]), timeout=60)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                             content_type_conformance])
