"""Every operation of /api/ext/v1/openapi.json, with generated valid and invalid input: no
answer is a server error, and every answer matches the schema the document gives it.

Generated path parameters are mostly swapped for ids that exist (made by `world` before any
case runs), so cases reach the operations' rules instead of stopping at 404; and every
operation also gets one known-good request, so each has answered 2xx at least once with its
success schema checked (conftest.py fails the run otherwise)."""

import json
import os
import time

import hypothesis.strategies as st
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from requests.auth import HTTPDigestAuth
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import OPERATIONS, CountingSession, record

BASE = os.environ["CMEK_BASE_URL"]
AUTH = HTTPDigestAuth(os.environ["CMEK_PUBLIC_KEY"], os.environ["CMEK_PRIVATE_KEY"])
PASSWORD = os.environ["CMEK_CONSOLE_PASSWORD"]
schema = schemathesis.openapi.from_url(f"{BASE}/api/ext/v1/openapi.json", auth=AUTH)
OPERATIONS.update(
    f"{method.upper()} {path}"
    for path, item in schema.raw_schema["paths"].items()
    for method in item
    if method in ("get", "put", "post", "delete", "patch")
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
REGION = "us-west-2"
EBS_SID = "Allow access through EBS for all principals in the account that are authorized to use EBS"
S3_SID = "Allow TiDB cloud role to use KMS to store encrypted backup to S3"


def api(method, path, body=None, expect=200):
    r = requests.request(method, f"{BASE}{path}", json=body, auth=AUTH, timeout=30)
    assert r.status_code == expect, (method, path, r.status_code, r.text)
    return r.json()


def usable_policy(service, sandbox):
    """The user guide's key policy for REGION (cmek_core::policy::default_key_policy)."""
    return {"Version": "2012-10-17", "Id": "cmek-policy", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{sandbox}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": EBS_SID, "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant",
                    "kms:DescribeKey"],
         "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": service,
                                        "kms:ViaService": f"ec2.{REGION}.amazonaws.com"}}},
        {"Sid": S3_SID, "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{service}:root"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"},
    ]}


def dedicated(name):
    return {
        "name": name, "cluster_type": "DEDICATED", "cloud_provider": "AWS", "region": REGION,
        "config": {"root_password": "a-good-password", "port": 4000, "components": {
            "tidb": {"node_size": "8C16G", "node_quantity": 1},
            "tikv": {"node_size": "8C32G", "storage_size_gib": 1024, "node_quantity": 3}}},
    }


@pytest.fixture(scope="session")
def world():
    """Things that exist: a CMEK project with its key and clusters, sandbox keys."""
    info = api("GET", "/api/ext/v1/server-info")
    policy = usable_policy(info["service_account_id"], info["sandbox_account_id"])
    keys = [api("POST", "/api/ext/v1/sandbox-kms/keys", {"region": REGION, "policy": json.dumps(policy)})
            for _ in range(4)]
    project = api("POST", "/api/v1beta/projects", {"name": "fuzzed", "aws_cmek_enabled": True})["id"]
    api("POST", f"/api/v1beta/projects/{project}/aws-cmek",
        {"specs": [{"region": REGION, "kms_arn": keys[0]["arn"]}]})
    clusters = [api("POST", f"/api/v1beta/projects/{project}/clusters", dedicated(f"fuzzed-{i}"))["id"]
                for i in range(4)]
    for c in clusters:  # AVAILABLE, so a pause can be asked for
        for _ in range(100):
            if api("GET", f"/api/v1beta/projects/{project}/clusters/{c}")["status"]["cluster_status"] == "AVAILABLE":
                break
            time.sleep(0.1)
    # Backups of the last cluster (one to read, one to delete) and a restore of the first.
    src = clusters[3]
    backups = [api("POST", f"/api/v1beta/projects/{project}/clusters/{src}/backups", {"name": f"fuzzed-{i}"})["id"]
               for i in range(2)]
    for b in backups:
        for _ in range(100):
            if api("GET", f"/api/v1beta/projects/{project}/clusters/{src}/backups/{b}")["status"] == "SUCCESS":
                break
            time.sleep(0.1)
    restore = api("POST", f"/api/v1beta/projects/{project}/restores",
                  {"backup_id": backups[0], "name": "fuzzed-restored", "config": dedicated("x")["config"]})["id"]
    return {"project": project, "clusters": clusters, "keys": [k["key_id"] for k in keys],
            "policy": json.dumps(policy), "backups": backups, "restore": restore}


WORLD = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Three cases in four use ids that exist; the fourth keeps the generated ones."""
    if not WORLD or not path_parameters:
        return st.just(path_parameters)
    real = dict(path_parameters)
    if "project_id" in real:
        real["project_id"] = WORLD["project"]
    if "cluster_id" in real:
        real["cluster_id"] = WORLD["clusters"][0]
    if "backup_id" in real:  # backups are of the last cluster
        real["cluster_id"] = WORLD["clusters"][3]
        real["backup_id"] = WORLD["backups"][0]
    if "restore_id" in real:
        real["restore_id"] = WORLD["restore"]
    choices = [st.just(real)]
    if "key_id" in real:
        choices = [st.just(dict(real, key_id=k)) for k in WORLD["keys"]]
    return st.one_of(*choices, *choices, *choices, st.just(path_parameters))


def known_good(w):
    """One request per operation that must succeed: (method, path, path parameters, body)."""
    p, c, k, b = w["project"], w["clusters"][1], w["keys"][1], w["clusters"][3]
    return [
        ("GET", "/api/v1beta/projects", {}, None),
        ("POST", "/api/v1beta/projects", {}, {"name": "known-good"}),
        ("GET", "/api/v1beta/projects/{project_id}/aws-cmek", {"project_id": p}, None),
        ("POST", "/api/v1beta/projects/{project_id}/aws-cmek", {"project_id": p},
         {"specs": [{"region": REGION, "kms_arn": api("GET", f"/api/v1beta/projects/{p}/aws-cmek")["items"][0]["kms_arn"]}]}),
        ("GET", "/api/v1beta/projects/{project_id}/clusters", {"project_id": p}, None),
        ("POST", "/api/v1beta/projects/{project_id}/clusters", {"project_id": p}, dedicated("known-good")),
        ("GET", "/api/v1beta/projects/{project_id}/clusters/{cluster_id}", {"project_id": p, "cluster_id": c}, None),
        ("PATCH", "/api/v1beta/projects/{project_id}/clusters/{cluster_id}", {"project_id": p, "cluster_id": c},
         {"config": {"paused": True}}),
        ("DELETE", "/api/v1beta/projects/{project_id}/clusters/{cluster_id}",
         {"project_id": p, "cluster_id": w["clusters"][2]}, None),
        ("GET", "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups", {"project_id": p, "cluster_id": b},
         None),
        ("POST", "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups", {"project_id": p, "cluster_id": b},
         {"name": "known-good", "description": "checked by schemathesis"}),
        ("GET", "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups/{backup_id}",
         {"project_id": p, "cluster_id": b, "backup_id": w["backups"][0]}, None),
        ("DELETE", "/api/v1beta/projects/{project_id}/clusters/{cluster_id}/backups/{backup_id}",
         {"project_id": p, "cluster_id": b, "backup_id": w["backups"][1]}, None),
        ("GET", "/api/ext/v1/projects/{project_id}/clusters/{cluster_id}/backup-keys",
         {"project_id": p, "cluster_id": b}, None),
        ("GET", "/api/v1beta/projects/{project_id}/restores", {"project_id": p}, None),
        ("POST", "/api/v1beta/projects/{project_id}/restores", {"project_id": p},
         {"backup_id": w["backups"][0], "name": "known-good-restored", "config": dedicated("x")["config"]}),
        ("GET", "/api/v1beta/projects/{project_id}/restores/{restore_id}", {"project_id": p, "restore_id": w["restore"]},
         None),
        ("GET", "/api/v1beta/clusters/provider/regions", {}, None),
        ("GET", "/api/ext/v1/server-info", {}, None),
        ("GET", "/api/ext/v1/projects/{project_id}/key-health", {"project_id": p}, None),
        ("POST", "/api/ext/v1/projects/{project_id}/key-health/check", {"project_id": p}, None),
        ("GET", "/api/ext/v1/projects/{project_id}/events", {"project_id": p}, None),
        ("GET", "/api/ext/v1/sandbox-kms/keys", {}, None),
        ("POST", "/api/ext/v1/sandbox-kms/keys", {}, {"region": REGION}),
        ("GET", "/api/ext/v1/sandbox-kms/keys/{key_id}", {"key_id": k}, None),
        ("PUT", "/api/ext/v1/sandbox-kms/keys/{key_id}/policy", {"key_id": k}, {"policy": w["policy"]}),
        ("POST", "/api/ext/v1/sandbox-kms/keys/{key_id}/disable", {"key_id": k}, None),
        ("POST", "/api/ext/v1/sandbox-kms/keys/{key_id}/enable", {"key_id": k}, None),
        ("POST", "/api/ext/v1/sandbox-kms/keys/{key_id}/rotate", {"key_id": k}, None),
        ("PUT", "/api/ext/v1/sandbox-kms/keys/{key_id}/rotation", {"key_id": k}, {"enabled": True}),
        ("POST", "/api/ext/v1/sandbox-kms/keys/{key_id}/schedule-deletion", {"key_id": k}, {"pending_window_days": 7}),
        ("POST", "/api/ext/v1/sandbox-kms/keys/{key_id}/cancel-deletion", {"key_id": k}, None),
    ]


def test_every_operation_succeeds_once_with_a_known_good_request(session, world):
    """Runs first (pytest keeps file order): every operation answers 2xx to a request that
    must succeed, checked like a generated one; the console's session operations are signed
    in with the console password, as the console does."""
    WORLD.update(world)
    done = set()
    for method, path, params, body in known_good(world):
        case = schema[path][method].Case(path_parameters=params, body=body if body is not None else NOT_SET)
        r = case.call_and_validate(base_url=BASE, session=session, checks=CHECKS)
        record(f"{method} {path}", "known-good", r.status_code)
        assert 200 <= r.status_code < 300, (method, path, r.status_code, r.text)
        done.add(f"{method} {path}")
    # The console's session: sign in, read it, sign out (CSRF token and Origin, as a page sends).
    console = CountingSession()
    case = schema["/api/ext/v1/session"]["POST"].Case(body={"password": PASSWORD})
    r = case.call_and_validate(base_url=BASE, session=console, checks=CHECKS)
    record("POST /api/ext/v1/session", "known-good", r.status_code)
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf_token"]
    r = schema["/api/ext/v1/session"]["GET"].Case().call_and_validate(base_url=BASE, session=console, checks=CHECKS)
    record("GET /api/ext/v1/session", "known-good", r.status_code)
    assert r.status_code == 200, r.text
    headers = {"x-csrf-token": csrf, "origin": BASE, "x-cmek-console": "1"}
    r = schema["/api/ext/v1/session"]["DELETE"].Case(headers=headers).call_and_validate(
        base_url=BASE, session=console, checks=CHECKS)
    record("DELETE /api/ext/v1/session", "known-good", r.status_code)
    assert r.status_code == 200, r.text
    done |= {"POST /api/ext/v1/session", "GET /api/ext/v1/session", "DELETE /api/ext/v1/session"}
    assert done == OPERATIONS, f"operations without a known-good request: {sorted(OPERATIONS - done)}"


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("CMEK_SCHEMATHESIS_EXAMPLES", "40")),
    deadline=None,
    # Each case is two round trips (the Digest challenge, then the signed request) to a server
    # that commits with synchronous=FULL: slower than Hypothesis expects of a data generator.
    # The other health checks stay on.
    suppress_health_check=[HealthCheck.too_slow],
)
def test_api(case, session):
    r = case.call_and_validate(base_url=BASE, session=session, checks=CHECKS)
    record(case.operation.label, "generated", r.status_code)
