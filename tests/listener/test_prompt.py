"""The routing prompt, byte for byte, and how the conversation is cut to the budget."""

from __future__ import annotations

import json

import pytest

from plano_asgi.chat import ChatMessage
from plano_asgi.routing.base import AgentCandidate
from plano_asgi.routing.prompt import (
    DEFAULT_TEMPLATE,
    MAX_ROUTING_TURNS,
    RoutingPrompt,
    format_routes,
    select_turns,
    trim_middle,
)

GOLDEN = (
    "\n"
    "You are a routing assistant. Your job is to choose the route or routes that best serve "
    "what the user is asking for right now.\n"
    "\n"
    "The available routes are listed between the <routes></routes> tags:\n"
    "<routes>\n"
    '{"name": "weather_agent", "description": "Weather: forecasts, \\"rain\\" & temps", '
    '"parameters": {"type": "object", "properties": {}, "required": []}}\n'
    '{"name": "flight_agent", "description": "Vols: réservations à Zürich", '
    '"parameters": {"type": "object", "properties": {}, "required": []}}\n'
    "</routes>\n"
    "\n"
    "The conversation so far is given between the <conversation></conversation> tags:\n"
    "<conversation>\n"
    "[\n"
    "    {\n"
    '        "role": "user",\n'
    '        "content": "Is it raining in Zürich?"\n'
    "    },\n"
    "    {\n"
    '        "role": "assistant",\n'
    '        "content": "Yes: 12°C."\n'
    "    },\n"
    "    {\n"
    '        "role": "user",\n'
    '        "content": "Then book me a flight: {\\"to\\": \\"NYC\\"}"\n'
    "    }\n"
    "]\n"
    "</conversation>\n"
    "\n"
    "## Instructions\n"
    "1. Work out what the user wants in their most recent message.\n"
    "2. Compare that intent with the description of every route.\n"
    "3. Answer only with route names, spelled exactly as they appear in the list.\n"
    "4. If no route fits, or the request has already been taken care of, answer with an "
    "empty list.\n"
    "\n"
    "## Response Format\n"
    "Reply with strict JSON only, in this shape:\n"
    '{{"route": ["route_name_1", "route_name_2", "..."]}}\n'
    'When no route is needed, reply with {{"route": []}}.\n'
)

AGENTS = [
    AgentCandidate("weather_agent", 'Weather: forecasts, "rain" & temps'),
    AgentCandidate("flight_agent", "Vols: réservations à Zürich"),
]


def msg(role: str, content: object, **extra: object) -> ChatMessage:
    return ChatMessage.model_validate({"role": role, "content": content, **extra})


def test_prompt_matches_golden_bytes() -> None:
    conversation = [
        msg("system", "You are a travel assistant."),
        msg("user", "Is it raining in Zürich?"),
        msg("assistant", "Yes: 12°C."),
        msg("assistant", None, tool_calls=[{"id": "c1", "type": "function"}]),
        msg("tool", "{}", tool_call_id="c1"),
        msg("user", [{"type": "text", "text": 'Then book me a flight: {"to": "NYC"}'},
                     {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]),
    ]  # fmt: skip
    assert RoutingPrompt().build(conversation, AGENTS).encode() == GOLDEN.encode()


def test_template_placeholders_are_filled_in_one_pass() -> None:
    agents = [AgentCandidate("a", "mentions {conversation} literally")]
    prompt = RoutingPrompt().build([msg("user", "hi {routes}")], agents)
    assert '"description": "mentions {conversation} literally"' in prompt
    assert '"content": "hi {routes}"' in prompt
    assert '{{"route": []}}' in prompt


def test_routes_use_python_json_default_separators() -> None:
    routes = format_routes([AgentCandidate("x", 'a: "b", c')])
    assert routes == (
        '{"name": "x", "description": "a: \\"b\\", c", '
        '"parameters": {"type": "object", "properties": {}, "required": []}}'
    )


def test_custom_template_needs_both_placeholders() -> None:
    with pytest.raises(ValueError, match="routes"):
        RoutingPrompt("only {conversation}")
    custom = RoutingPrompt("R:{routes}|C:{conversation}")
    assert custom.build([msg("user", "hi")], [AgentCandidate("a", "d")]).startswith(
        'R:{"name": "a"'
    )


# -- selection and budget ----------------------------------------------------------------


def turns(count: int, size: int = 8) -> list[ChatMessage]:
    out = []
    for index in range(count):
        role = "user" if index % 2 == 0 else "assistant"
        out.append(msg(role, f"{index:0{size}d}"))
    return out


def test_only_the_last_16_turns_are_kept() -> None:
    kept = select_turns(turns(32), budget=100_000)
    assert len(kept) == MAX_ROUTING_TURNS
    assert kept[0]["content"] == f"{16:08d}"
    assert kept[-1]["content"] == f"{31:08d}"


def test_template_size_counts_against_the_budget() -> None:
    # Each 8-byte turn costs 2 tokens; 5 tokens after the template fit two turns whole.
    start = len(DEFAULT_TEMPLATE.encode()) // 4
    kept = select_turns(turns(4), budget=start + 5, start=start)
    assert [t["content"] for t in kept] == [f"{2:08d}", f"{3:08d}"]


def test_older_user_turn_is_trimmed_in_the_middle() -> None:
    history = [
        msg("user", "given the weather in Seattle, what should I wear in Porthole"),
        msg("assistant", "a" * 40),
        msg("user", "b" * 40),
    ]
    # 10 + 10 tokens for the newest two; 3 tokens (12 bytes) left for the oldest user turn.
    kept = select_turns(history, budget=23)
    assert [t["role"] for t in kept] == ["user", "assistant", "user"]
    assert kept[0]["content"] == "given…hole"
    assert len(kept[0]["content"].encode()) <= 12
    assert kept[1]["content"] == "a" * 40
    assert kept[2]["content"] == "b" * 40


def test_assistant_turn_that_does_not_fit_stops_the_walk() -> None:
    history = [msg("user", "x" * 400), msg("assistant", "y" * 400), msg("user", "z" * 8)]
    kept = select_turns(history, budget=50)
    assert kept == [{"role": "user", "content": "z" * 8}]


def test_single_huge_message_is_bounded_with_head_and_tail() -> None:
    huge = "HEAD" + "x" * 500_000 + "TAIL"
    kept = select_turns([msg("user", huge)], budget=2048, start=211)
    content = kept[0]["content"]
    assert len(content.encode()) <= (2048 - 211) * 4
    assert content.startswith("HEAD")
    assert content.endswith("TAIL")
    assert "…" in content


def test_newest_turn_is_kept_whole_when_nothing_fits() -> None:
    kept = select_turns([msg("user", "hello"), msg("assistant", "a" * 4000)], budget=10)
    assert kept == [{"role": "assistant", "content": "a" * 4000}]


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        pytest.param("short", 10, "short", id="fits"),
        pytest.param("abcdefghijklmnopqrst", 13, "abcdef…qrst", id="60-40"),
        pytest.param("abcdefghij", 3, "abc", id="head-only-at-marker-size"),
        pytest.param("abcdefghij", 2, "ab", id="head-only-below-marker"),
        pytest.param("éééééééééé", 9, "é…é", id="utf8-boundaries"),
        pytest.param("ééé", 3, "é", id="utf8-head-only"),
        pytest.param("😀😀😀😀😀", 12, "😀…😀", id="utf8-four-byte"),
    ],
)
def test_trim_middle(text: str, limit: int, expected: str) -> None:
    out = trim_middle(text, limit)
    assert out == expected
    assert len(out.encode()) <= limit


def test_trim_middle_never_exceeds_the_limit() -> None:
    text = "aé😀" * 300
    for limit in range(400):
        out = trim_middle(text, limit)
        assert len(out.encode()) <= limit
        out.encode("utf-8")  # valid UTF-8 (would raise on a lone surrogate)


def test_conversation_is_indented_json_with_unescaped_unicode() -> None:
    prompt = RoutingPrompt().build([msg("user", "naïve ☂")], AGENTS)
    block = prompt.split("<conversation>\n", 1)[1].split("\n</conversation>", 1)[0]
    assert block == json.dumps(
        [{"role": "user", "content": "naïve ☂"}], indent=4, ensure_ascii=False
    )
    assert "naïve ☂" in block
