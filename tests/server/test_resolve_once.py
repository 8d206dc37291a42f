"""A chat request resolves its model name once: the route labels the metrics and goes on to the decision."""

from __future__ import annotations

import httpx

from .conftest import make_settings, serve


def test_a_chat_request_resolves_its_model_name_once(upstream):
    with serve(make_settings(upstream)) as s:
        core = s.server.controller.core
        calls = []
        resolve = core.resolve

        def counting(*args, **kwargs):
            calls.append(args)
            return resolve(*args, **kwargs)

        core.resolve = counting
        body = {"model": "router-random-0.5", "messages": [{"role": "user", "content": "hi"}]}
        response = httpx.post(s.v1 + "/chat/completions", json=body, timeout=10)
        assert response.status_code == 200 and response.headers["x-routellm-router"] == "random"
        assert response.headers["x-routellm-threshold"] == "0.5"
        assert calls == [("router-random-0.5",)]
        bad = httpx.post(s.v1 + "/chat/completions", json={**body, "model": "router-mf-0.5"}, timeout=10)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_model"
        assert len(calls) == 2
