"""The fuzz properties over real sockets: uvicorn on 127.0.0.1 in front of the same apps.

Fewer examples than the in-process suite (:mod:`tests.fuzz.test_fuzz_endpoints`): this one
shows that what a server adds (its own parsing of the request line, headers and body
framing, the connection's life) changes none of the answers.
"""

from __future__ import annotations

import json

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.fuzz.apps import GATEWAY_PATHS, LISTENER_PATHS
from tests.fuzz.drive import Answer, check_answer
from tests.fuzz.strategies import any_body, malformed_body, raw_bodies

pytestmark = pytest.mark.integration

WIRE = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

ENDPOINTS = [("gateway", p, a) for p, a in GATEWAY_PATHS.items()] + [
    ("listener", p, a) for p, a in LISTENER_PATHS.items()
]


@WIRE
@given(data=st.data(), endpoint=st.sampled_from(ENDPOINTS), kind=st.sampled_from(range(3)))
def test_over_uvicorn_bad_input_is_a_4xx_in_the_apis_envelope(
    served: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
    endpoint: tuple[str, str, str],
    kind: int,
) -> None:
    app, path, api = endpoint
    if kind == 0:
        malformed, raw = True, json.dumps(data.draw(malformed_body(api))[1]).encode()
    elif kind == 1:
        malformed, raw = True, data.draw(raw_bodies)
    else:
        malformed, raw = False, json.dumps(data.draw(any_body(api))).encode()
    reply = httpx2.post(
        served[app] + path, content=raw, headers={"content-type": "application/json"}, timeout=10
    )
    answer = Answer(reply.status_code, dict(reply.headers), reply.content)
    check_answer(path, answer, malformed=malformed)
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert "Traceback" not in caplog.text
    caplog.clear()
