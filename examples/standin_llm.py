#!/usr/bin/env python3
"""A STAND-IN for an LLM, to try Hookline's conversations without an account anywhere.

It is not a language model: it follows a tiny script. It speaks the OpenAI Chat Completions
streaming API (POST /v1/chat/completions with "stream": true), as OpenAI and the compatible
servers do, so Hookline talks to it exactly as it would talk to a real model:

- a user message that names an order (ORD-12345) and the session has `check_order_status`:
  it asks for that tool, its arguments streamed in fragments;
- a tool result: it answers with what the result says (status, tracking number, error);
- anything else: it says what it is.

    python3 examples/standin_llm.py 4000
    python3 examples/standin_llm.py 4000 --delay 0.5   # slowly: time to interrupt it by hand

Then create an LLM with "provider": "openai" and "baseUrl": "http://localhost:4000/v1" in
development mode (`--dev`). Production mode calls http:// only at an IP address it is allowed to
reach, never at a host name: there, use "http://127.0.0.1:4000/v1" with
HOOKLINE_ALLOWED_NETWORKS=127.0.0.0/8.
Only the Python standard library is used.
"""
import argparse
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ORDER = re.compile(r"\bORD-\d+\b")


def chunk(delta, finish=None):
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "standin",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def words(text):
    """Text in small pieces, as models stream it."""
    return [chunk({"content": piece}) for piece in re.findall(r"\S+\s*", text)]


def explain(result_text):
    try:
        result = json.loads(result_text)
    except ValueError:
        return f"The tool answered: {result_text}"
    if isinstance(result, dict) and "error" in result:
        error = result["error"]
        return f"I could not check that: {error.get('message', 'the call failed')}."
    if isinstance(result, dict):
        facts = ", ".join(f"{k}: {v}" for k, v in result.items())
        return f"Here is what I found. {facts}."
    return f"The tool answered: {result}"


def script(request):
    """The chunks of the answer to one request."""
    messages = request.get("messages", [])
    tools = {t["function"]["name"] for t in request.get("tools", [])}
    last = messages[-1] if messages else {}
    out = [chunk({"role": "assistant", "content": ""})]
    if last.get("role") == "tool":
        out += words(explain(last.get("content", "")))
        return out + [chunk({}, "stop")]
    order = ORDER.search(str(last.get("content", "")))
    if last.get("role") == "user" and order and "check_order_status" in tools:
        args = json.dumps({"orderId": order.group(0)})
        out += words("Let me look that up. ")
        out.append(chunk({"tool_calls": [{"index": 0, "id": f"call_{int(time.time() * 1000)}",
                                          "type": "function",
                                          "function": {"name": "check_order_status", "arguments": ""}}]}))
        half = len(args) // 2
        for piece in (args[:half], args[half:]):
            out.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        return out + [chunk({}, "tool_calls")]
    out += words("I am a scripted stand-in, not a language model. Ask me about an order, "
                 "for example ORD-12345.")
    return out + [chunk({}, "stop")]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            request = {}
        if not self.path.endswith("/chat/completions"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        for c in script(request):
            self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
            self.wfile.flush()
            time.sleep(self.server.delay)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def log_message(self, fmt, *args):
        sys.stderr.write("standin-llm: " + fmt % args + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A scripted stand-in for an OpenAI-compatible LLM.")
    parser.add_argument("port", type=int, nargs="?", default=4000)
    parser.add_argument("--delay", type=float, default=0.02, metavar="SECONDS",
                        help="pause between streamed pieces (default 0.02; 0.5 leaves time to "
                             "send a message that interrupts the reply)")
    options = parser.parse_args()
    if not 0 <= options.delay <= 10:
        parser.error("--delay must be between 0 and 10 seconds")
    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    server.delay = options.delay
    print(f"stand-in LLM (scripted, OpenAI-compatible) on http://localhost:{options.port}/v1, "
          f"{options.delay} s between pieces", flush=True)
    server.serve_forever()
