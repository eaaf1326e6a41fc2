"""Property-based fuzzing of every endpoint of the model gateway and the agent listener.

Each property drives the real ASGI apps in-process (:mod:`tests.fuzz.drive`) with
generated bodies and headers, and asserts what issue 16 asks of the edge: a malformed
request is a 4xx in the API's own error envelope (OpenAI's, or Anthropic's on
``/v1/messages``) that names what is wrong; nothing is ever a 5xx; no answer shows a
traceback or a class name, and nothing is logged with a traceback. Examples are
derandomised (the same every run) and the database is off, so CI is reproducible.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.fuzz.apps import GATEWAY_PATHS, LISTENER_PATHS, Apps
from tests.fuzz.drive import Answer, call, check_answer
from tests.fuzz.strategies import (
    any_body,
    header_lists,
    malformed_body,
    odd_valid_body,
    raw_bodies,
)

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ENDPOINTS = [("gateway", p, a) for p, a in GATEWAY_PATHS.items()] + [
    ("listener", p, a) for p, a in LISTENER_PATHS.items()
]
IDS = [f"{app}{path}" for app, path, _ in ENDPOINTS]


def _post(
    portal: BlockingPortal,
    apps: Apps,
    app: str,
    path: str,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Answer:
    target = apps.gateway if app == "gateway" else apps.listener
    return portal.call(call, target, path, body, headers)


def _no_traceback_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [(r.name, r.getMessage()) for r in bad]
    assert "Traceback" not in caplog.text
    caplog.clear()


@pytest.mark.parametrize(("app", "path", "api"), ENDPOINTS, ids=IDS)
@FUZZ
@given(data=st.data())
def test_a_malformed_field_is_a_4xx_naming_it(
    portal: BlockingPortal,
    apps: Apps,
    caplog: pytest.LogCaptureFixture,
    app: str,
    path: str,
    api: str,
    data: st.DataObject,
) -> None:
    field, body = data.draw(malformed_body(api))
    answer = _post(portal, apps, app, path, json.dumps(body).encode())
    check_answer(path, answer, malformed=True)
    assert field in json.loads(answer.body)["error"]["message"], (body, answer.body)
    _no_traceback_logged(caplog)


@pytest.mark.parametrize(("app", "path", "api"), ENDPOINTS, ids=IDS)
@FUZZ
@given(raw=raw_bodies)
def test_a_body_that_is_not_a_json_object_is_a_4xx(
    portal: BlockingPortal,
    apps: Apps,
    caplog: pytest.LogCaptureFixture,
    app: str,
    path: str,
    api: str,
    raw: bytes,
) -> None:
    check_answer(path, _post(portal, apps, app, path, raw), malformed=True)
    _no_traceback_logged(caplog)


@pytest.mark.parametrize(("app", "path", "api"), ENDPOINTS, ids=IDS)
@FUZZ
@given(data=st.data(), headers=header_lists)
def test_any_body_and_headers_get_an_answer_never_a_5xx(
    portal: BlockingPortal,
    apps: Apps,
    caplog: pytest.LogCaptureFixture,
    app: str,
    path: str,
    api: str,
    data: st.DataObject,
    headers: list[tuple[bytes, bytes]],
) -> None:
    body: dict[str, Any] = data.draw(any_body(api))
    answer = _post(portal, apps, app, path, json.dumps(body).encode(), headers)
    check_answer(path, answer, malformed=False)
    _no_traceback_logged(caplog)


@pytest.mark.parametrize(("app", "path", "api"), ENDPOINTS, ids=IDS)
@FUZZ
@given(data=st.data())
def test_a_well_formed_body_with_odd_values_is_served(
    portal: BlockingPortal,
    apps: Apps,
    caplog: pytest.LogCaptureFixture,
    app: str,
    path: str,
    api: str,
    data: st.DataObject,
) -> None:
    body: dict[str, Any] = data.draw(odd_valid_body(api))
    answer = _post(portal, apps, app, path, json.dumps(body).encode())
    check_answer(path, answer, malformed=False)
    assert answer.status == 200, (body, answer.body)
    _no_traceback_logged(caplog)


@pytest.mark.parametrize("app", ["gateway", "listener"])
@FUZZ
@given(
    data=st.data(),
    method=st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "PATCH", "POST"]),
    raw=st.binary(max_size=16),
)
def test_every_method_on_every_path_is_answered(
    portal: BlockingPortal,
    apps: Apps,
    caplog: pytest.LogCaptureFixture,
    app: str,
    data: st.DataObject,
    method: str,
    raw: bytes,
) -> None:
    posts = GATEWAY_PATHS if app == "gateway" else LISTENER_PATHS
    path = data.draw(st.sampled_from(["/v1/models", "/healthz", *posts]))
    target = apps.gateway if app == "gateway" else apps.listener
    answer = portal.call(lambda: call(target, path, raw, method=method))
    posted = path in posts
    wrong = method not in (("POST",) if posted else ("GET", "HEAD"))
    check_answer(path, answer, malformed=wrong or posted)
    if wrong:
        assert answer.status == 405, (method, path, answer.body)
    _no_traceback_logged(caplog)
