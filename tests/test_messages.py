import pytest
from hypothesis import given
from hypothesis import strategies as st

from routellm_core.errors import RoutingError
from routellm_core.messages import routing_text


def test_last_user_turn():
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"},
    ]
    assert routing_text(messages) == "second"
    assert routing_text(messages, "conversation") == "system: be brief\nuser: first\nassistant: ok\nuser: second"


def test_content_parts_use_text_only():
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is in"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "this picture?"},
            ],
        }
    ]
    assert routing_text(messages) == "what is in\nthis picture?"


@pytest.mark.parametrize(
    "messages, fragment",
    [
        ([], "non-empty list"),
        ("hello", "non-empty list"),
        (None, "non-empty list"),
        ([{"content": "x"}], "no 'role'"),
        (["x"], "must be an object"),
        ([{"role": "assistant", "content": "x"}], "no 'user' turn"),
        ([{"role": "user", "content": 3}], "string or a list of parts"),
        ([{"role": "user", "content": [3]}], "parts must be objects"),
    ],
)
def test_bad_messages(messages, fragment):
    with pytest.raises(RoutingError, match=fragment):
        routing_text(messages)


def test_unknown_policy():
    with pytest.raises(RoutingError, match="last_user, conversation"):
        routing_text([{"role": "user", "content": "x"}], "everything")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_arbitrary_json_gives_text_or_routing_error(value):
    try:
        assert isinstance(routing_text(value), str)
    except RoutingError:
        pass
