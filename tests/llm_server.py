"""A real OpenAI-compatible HTTP server on 127.0.0.1 with scripted answers and faults on demand.

Each article of a request (between its <<<ARTICLE key ... and ARTICLE>>> markers, in the last user
message that has them) is matched against the script's keys (substrings of the article); the key's
queue of replies is consumed in order, its last reply repeating. A reply is a dict: {"content": str}
(an answer), {"status": 429, "headers": {...}} (an error), {"sleep": seconds} (a slow answer, for
timeouts), {"finish_reason": "length"}, {"refusal": str}. The events of an answer are given the key
of the article they were scripted for; a request carrying several articles gets all their events in
one answer, or the first fault scripted for any of them.
Used by the LLM tests and by benchmarks/llm_throughput.py; it talks only to loopback.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Script:
    def __init__(
        self, replies: dict[str, list[dict]] | None = None, default: dict | None = None, latency: float = 0.0
    ) -> None:
        self.replies = {k: list(v) for k, v in (replies or {}).items()}
        self.default = default or {"content": '{"events": []}'}
        self.latency = latency
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        self.inflight = 0
        self.max_inflight = 0

    def _match(self, text: str) -> dict:
        for key, queue in self.replies.items():
            if key in text:
                return queue.pop(0) if len(queue) > 1 else queue[0]
        return self.default

    def next(self, body: dict, headers: dict) -> dict:
        users = [m["content"] for m in body["messages"] if m["role"] == "user"]
        with self.lock:
            self.calls.append({"body": body, "headers": headers, "t": time.monotonic()})
            # the articles are the last user message with the markers (repairs come after it)
            target = next((c for c in reversed(users) if "<<<ARTICLE" in c), users[-1] if users else "")
            blocks = _BLOCK.findall(target) or [("A1", target)]
            replies = [self._match(text) for _, text in blocks]
        if len(blocks) == 1:  # as scripted: the extractor takes events naming no article to be in it
            return replies[0]
        for r in replies:
            if set(r) - {"content"} or _events(r) is None:
                return r
        events = [
            {**ev, "article": ev.get("article", key)}
            for (key, _), r in zip(blocks, replies, strict=True)
            for ev in _events(r)
        ]
        return {"content": json.dumps({"events": events}, ensure_ascii=False)}

    @property
    def articles_sent(self) -> int:
        """Articles carried by the requests so far (repairs and retries count again)."""
        n = 0
        for call in self.calls:
            users = [m["content"] for m in call["body"]["messages"] if m["role"] == "user"]
            target = next((c for c in reversed(users) if "<<<ARTICLE" in c), "")
            n += len(_BLOCK.findall(target))
        return n


_BLOCK = re.compile(r"<<<ARTICLE (\S+)[^\n]*\n(.*?)\nARTICLE>>>", re.S)


def _events(reply: dict) -> list | None:
    """The events of a scripted answer, or None when it is not a JSON answer (a fault, broken JSON)."""
    try:
        data = json.loads(reply.get("content") or "")
    except (TypeError, ValueError):
        return None
    return data.get("events") if isinstance(data, dict) and isinstance(data.get("events"), list) else None


def completion(content: str, finish_reason: str = "stop", refusal: str | None = None) -> dict:
    message = {"role": "assistant", "content": content}
    if refusal:
        message = {"role": "assistant", "content": None, "refusal": refusal}
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
    }


def make_handler(script: Script):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not self.path.endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            reply = script.next(body, {k.lower(): v for k, v in self.headers.items()})
            with script.lock:
                script.inflight += 1
                script.max_inflight = max(script.max_inflight, script.inflight)
            try:
                time.sleep(script.latency + reply.get("sleep", 0))
            finally:
                with script.lock:
                    script.inflight -= 1
            if "status" in reply:
                message = reply.get("message", "scripted failure")
                if reply.get("echo_auth"):  # a careless server that echoes the credentials
                    message += f" (received {self.headers.get('authorization')})"
                self._send(
                    reply["status"], {"error": {"message": message, "type": "test"}}, reply.get("headers")
                )
                return
            self._send(
                200,
                completion(
                    reply.get("content", ""), reply.get("finish_reason", "stop"), reply.get("refusal")
                ),
            )

    return Handler


class LLMServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(script))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> LLMServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
