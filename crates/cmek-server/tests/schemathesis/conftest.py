"""Schemathesis against the server's own OpenAPI document, as an API client would call it:
HTTP Digest with an API key. Run by scripts/schemathesis, which starts the server and sets
CMEK_BASE_URL, CMEK_PUBLIC_KEY, CMEK_PRIVATE_KEY and CMEK_CONSOLE_PASSWORD.

Counts every answer per operation and fails the run when an operation of the document never
answered 2xx: a run that met only 401s, 429s or 404s would otherwise pass having checked no
successful answer against its schema."""

import os
from collections import Counter, defaultdict

import pytest
import requests
from requests.auth import HTTPDigestAuth

SENT = {"requests": 0, "by_status": Counter()}
# "METHOD /path" -> Counter of statuses: the final answer of each case (after the Digest
# challenge), split by where the case came from ("generated" or "known-good").
BY_OPERATION = defaultdict(lambda: {"generated": Counter(), "known-good": Counter()})
# Every operation the document lists ("METHOD /path"), filled by test_openapi.py.
OPERATIONS = set()


def record(label, origin, status):
    BY_OPERATION[label][origin][status] += 1


class CountingSession(requests.Session):
    """Counts every request on the wire (Digest challenges included) and each status."""

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        SENT["requests"] += 1
        SENT["by_status"][response.status_code] += 1
        return response


@pytest.fixture(scope="session")
def session():
    s = CountingSession()
    s.auth = HTTPDigestAuth(os.environ["CMEK_PUBLIC_KEY"], os.environ["CMEK_PRIVATE_KEY"])
    return s


def two_xx(counter):
    return sum(v for k, v in counter.items() if 200 <= k < 300)


def pytest_sessionfinish(session, exitstatus):
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(SENT["by_status"].items()))
    print(f"\nschemathesis: {SENT['requests']} requests sent ({statuses})")
    server_errors = sum(v for k, v in SENT["by_status"].items() if k >= 500)
    print(f"schemathesis: {server_errors} server errors (5xx)")
    print("schemathesis: 2xx answers per operation (generated + known-good / cases):")
    without = []
    for label in sorted(OPERATIONS | set(BY_OPERATION)):
        gen, good = BY_OPERATION[label]["generated"], BY_OPERATION[label]["known-good"]
        ok = two_xx(gen) + two_xx(good)
        cases = sum(gen.values()) + sum(good.values())
        print(f"  {ok:5d} = {two_xx(gen):4d} + {two_xx(good):2d} / {cases:4d}  {label}")
        if ok == 0:
            without.append(label)
    if not OPERATIONS:
        without.append("(no operation was read from the document)")
    if without:
        print("schemathesis: FAILED: no 2xx answer, so no successful answer was checked, for:")
        for label in without:
            print(f"  {label}")
        session.exitstatus = 1
