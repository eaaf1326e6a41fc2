"""Reading an orchestrator model's answer: Plano's cases plus the ones it gets wrong."""

from __future__ import annotations

import pytest

from plano_asgi.errors import RoutingError
from plano_asgi.routing.prompt import parse_routes

KNOWN = ["weather", "flights", "bob's_agent", "Hotels"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param('{"route": ["weather"]}', ("weather",), id="one"),
        pytest.param(
            '{"route": ["weather", "flights"]}', ("weather", "flights"), id="two-in-order"
        ),
        pytest.param('{"route": ["flights", "weather"]}', ("flights", "weather"), id="order-kept"),
        pytest.param('{"route": []}', (), id="empty-list"),
        pytest.param('{"route": null}', (), id="route-null"),
        pytest.param("{}", (), id="empty-object"),
        pytest.param("null", (), id="null"),
        pytest.param("", (), id="empty"),
        pytest.param("   \n", (), id="blank"),
        pytest.param(None, (), id="none"),
        pytest.param(
            "{'route': ['weather']}\\n", ("weather",), id="single-quotes-and-literal-newline"
        ),
        pytest.param(
            "{'route': ['bob's_agent', 'weather']}",
            ("bob's_agent", "weather"),
            id="apostrophe-in-name",
        ),
        pytest.param(
            '{"route": ["bob\'s_agent"]}', ("bob's_agent",), id="apostrophe-double-quoted"
        ),
        pytest.param('```json\n{"route": ["flights"]}\n```', ("flights",), id="code-fence"),
        pytest.param('```\n{"route": ["flights"]}\n```', ("flights",), id="bare-fence"),
        pytest.param(
            'Sure! Here\'s my answer: {"route": ["weather"]} Hope that helps.',
            ("weather",),
            id="prose-around",
        ),
        pytest.param(
            '{"route": ["weather", "weather", "flights"]}', ("weather", "flights"), id="duplicates"
        ),
        pytest.param('{"route": ["weather", "spaceships"]}', ("weather",), id="unknown-dropped"),
        pytest.param('{"route": ["spaceships"]}', (), id="only-unknown"),
        pytest.param('{"route": ["", " flights "]}', ("flights",), id="blank-and-padded"),
        pytest.param('{"route": ["hotels"]}', ("Hotels",), id="case-folded"),
        pytest.param('{"route": "weather"}', ("weather",), id="string-not-list"),
        pytest.param('["flights"]', ("flights",), id="bare-list"),
        pytest.param(
            '{"route": ["weather"]}\n{"route": ["flights"]}', ("weather",), id="first-object"
        ),
    ],
)
def test_parse_routes(answer: str | None, expected: tuple[str, ...]) -> None:
    assert parse_routes(answer, KNOWN) == expected


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param('{"route": ["route1"', id="truncated"),
        pytest.param("weather", id="bare-word"),
        pytest.param("I cannot decide.", id="prose"),
        pytest.param('{"route": [1, 2]}', id="numbers"),
        pytest.param('{"route": {"a": 1}}', id="object"),
        pytest.param("<html>502</html>", id="html"),
    ],
)
def test_garbage_is_a_routing_error(answer: str) -> None:
    with pytest.raises(RoutingError):
        parse_routes(answer, KNOWN)
