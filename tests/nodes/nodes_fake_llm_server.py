"""A loopback HTTP server speaking enough of the OpenAI chat-completions and Anthropic messages
protocols (JSON and SSE streaming) to test the SDK providers, with programmable failures.

Only binds 127.0.0.1. Every request is recorded (path, headers, body). A request whose key differs
from ``expected_key`` gets a 401 whose body and headers echo the key it received, as careless
servers do, so that tests can check the key never leaks into messages.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    expected_key: str
    text: str = "Hello from the fake model"
    structured: Any = None
    prompt_tokens: int = 11
    completion_tokens: int = 5
    failures: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    """Responses to give first, in order: (status, headers, body)."""
    requests: list[dict[str, Any]] = field(default_factory=list)


def _chunks(text: str, n: int = 4) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)] or [""]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str], content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _sse(self, events: list[tuple[str | None, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, data in events:
            payload = data if isinstance(data, str) else json.dumps(data)
            line = (f"event: {name}\n" if name else "") + f"data: {payload}\n\n"
            self.wfile.write(line.encode())
            self.wfile.flush()
        self.close_connection = True

    def do_POST(self) -> None:
        b = self.server.behaviour
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        b.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        key = self.headers.get("x-api-key") or (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if key != b.expected_key:
            msg = {"error": {"message": f"Incorrect API key provided: {key}", "type": "authentication_error"}}
            self._send(401, json.dumps(msg).encode(), {"x-echo-key": key})
            return
        if b.failures:
            status, headers, text = b.failures.pop(0)
            self._send(status, text.encode(), headers)
            return
        if self.path.endswith("/chat/completions"):
            self._openai(body)
        elif self.path.endswith("/messages"):
            self._anthropic(body)
        else:
            self._send(404, b'{"error": "not found"}', {})

    def _answer(self, structured: bool) -> str:
        b = self.server.behaviour
        return json.dumps(b.structured) if structured else b.text

    def _openai(self, body: dict[str, Any]) -> None:
        b = self.server.behaviour
        text = self._answer("response_format" in body)
        usage = {
            "prompt_tokens": b.prompt_tokens,
            "completion_tokens": b.completion_tokens,
            "total_tokens": b.prompt_tokens + b.completion_tokens,
        }
        base = {"id": "chatcmpl-1", "created": 0, "model": body["model"]}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            reply = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            self._send(200, json.dumps(reply).encode(), {})
            return
        events: list[tuple[str | None, Any]] = []
        for piece in _chunks(text):
            choice = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
            events.append((None, {**base, "object": "chat.completion.chunk", "choices": [choice]}))
        stop = {"index": 0, "delta": {}, "finish_reason": "stop"}
        events.append((None, {**base, "object": "chat.completion.chunk", "choices": [stop]}))
        if body.get("stream_options", {}).get("include_usage"):
            events.append((None, {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}))
        events.append((None, "[DONE]"))
        self._sse(events)

    def _anthropic(self, body: dict[str, Any]) -> None:
        b = self.server.behaviour
        tool = bool(body.get("tools"))
        usage = {"input_tokens": b.prompt_tokens, "output_tokens": b.completion_tokens}
        if tool:
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": "toolu_1",
                "name": body["tools"][0]["name"],
                "input": b.structured,
            }
        else:
            block = {"type": "text", "text": b.text}
        message = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [block],
            "stop_reason": "tool_use" if tool else "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }
        if not body.get("stream"):
            self._send(200, json.dumps(message).encode(), {})
            return
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": b.prompt_tokens, "output_tokens": 1},
        }
        events: list[tuple[str | None, Any]] = [("message_start", {"type": "message_start", "message": start})]
        if tool:
            empty = {"type": "tool_use", "id": "toolu_1", "name": block["name"], "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in _chunks(json.dumps(b.structured))]
        else:
            empty = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _chunks(b.text)]
        events.append(("content_block_start", {"type": "content_block_start", "index": 0, "content_block": empty}))
        for d in deltas:
            events.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
        final = {"stop_reason": message["stop_reason"], "stop_sequence": None}
        events.append(
            (
                "message_delta",
                {"type": "message_delta", "delta": final, "usage": {"output_tokens": b.completion_tokens}},
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        self._sse(events)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    behaviour: Behaviour


class FakeLLMServer:
    def __init__(self, expected_key: str) -> None:
        self.behaviour = Behaviour(expected_key)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.behaviour = self.behaviour
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
