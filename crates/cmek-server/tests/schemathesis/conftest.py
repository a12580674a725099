"""Schemathesis against the server's own OpenAPI document, as an API client would call it:
HTTP Digest with an API key. Run by scripts/schemathesis, which starts the server and sets
CMEK_BASE_URL, CMEK_PUBLIC_KEY and CMEK_PRIVATE_KEY."""

import os

import pytest
import requests
from requests.auth import HTTPDigestAuth

SENT = {"requests": 0, "by_status": {}}


class CountingSession(requests.Session):
    """Counts every request on the wire (Digest challenges included) and each status."""

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        SENT["requests"] += 1
        SENT["by_status"][response.status_code] = SENT["by_status"].get(response.status_code, 0) + 1
        return response


@pytest.fixture(scope="session")
def session():
    s = CountingSession()
    s.auth = HTTPDigestAuth(os.environ["CMEK_PUBLIC_KEY"], os.environ["CMEK_PRIVATE_KEY"])
    return s


def pytest_sessionfinish(session, exitstatus):
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(SENT["by_status"].items()))
    print(f"\nschemathesis: {SENT['requests']} requests sent ({statuses})")
    server_errors = sum(v for k, v in SENT["by_status"].items() if k >= 500)
    print(f"schemathesis: {server_errors} server errors (5xx)")
