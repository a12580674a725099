"""Every operation of /api/ext/v1/openapi.json, with generated valid and invalid input: no
answer is a server error, and every answer matches the schema the document gives it."""

import os

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from requests.auth import HTTPDigestAuth

BASE = os.environ["CMEK_BASE_URL"]
AUTH = HTTPDigestAuth(os.environ["CMEK_PUBLIC_KEY"], os.environ["CMEK_PRIVATE_KEY"])
schema = schemathesis.openapi.from_url(f"{BASE}/api/ext/v1/openapi.json", auth=AUTH)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("CMEK_SCHEMATHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api(case, session):
    case.call_and_validate(base_url=BASE, session=session, checks=CHECKS)
