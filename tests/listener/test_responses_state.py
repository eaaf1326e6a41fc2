"""Conversation state on the agent listener's ``/v1/responses`` (``state_storage: memory``).

The official ``openai`` client chains turns with ``previous_response_id``; the SDK agent
behind the listener must see every earlier turn (input and answer) before the new input.
"""

from __future__ import annotations

import anyio
import openai
import pytest

from plano_asgi.config.models import StateStorage
from tests.listener.conftest import listener_config
from tests.listener.support import fakes, listener
from tests.listener.test_responses_api import echo_agent

pytestmark = pytest.mark.anyio


async def test_previous_response_id_gives_the_agent_every_earlier_turn() -> None:
    agent, seen = echo_agent()
    with anyio.fail_after(15):
        async with fakes(echo=agent) as url:
            config = listener_config({"echo": url["echo"]}).model_copy(
                update={"state_storage": StateStorage(type="memory")}
            )
            async with listener(config) as srv:
                first = await srv.api.responses.create(model="m", input="My name is Ada.")
                async with srv.api.responses.stream(
                    model="m", input="What is my name?", previous_response_id=first.id
                ) as stream:
                    second = await stream.get_final_response()
                third = await srv.api.responses.create(
                    model="m", input="Thanks.", previous_response_id=second.id
                )
                forgotten = await srv.api.responses.create(model="m", input="x", store=False)
                with pytest.raises(openai.BadRequestError) as unknown:
                    await srv.api.responses.create(
                        model="m", input="y", previous_response_id=forgotten.id
                    )
    assert (first.model_extra or {})["store"] is True
    assert second.previous_response_id == first.id
    assert [(m.role, m.text) for m in seen[2].messages] == [
        ("user", "My name is Ada."),
        ("assistant", "[] you said: My name is Ada."),
        ("user", "What is my name?"),
        ("assistant", "[] you said: What is my name?"),
        ("user", "Thanks."),
    ]
    assert third.output_text == "[] you said: Thanks."
    assert (forgotten.model_extra or {})["store"] is False
    assert unknown.value.status_code == 400
    body = unknown.value.body
    assert isinstance(body, dict)
    assert body["param"] == "previous_response_id"
    assert body["code"] == "previous_response_not_found"
    assert len(seen) == 4  # the unknown id never reached the agent
