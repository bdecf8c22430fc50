#!/usr/bin/env python3
"""A tiny OpenAI-compatible /v1/chat/completions server for the LLMRequirementExtractor tests.

Binds 127.0.0.1 on a free port, prints the port on the first line of stdout, and answers by the
user message: containing "BADJSON" -> non-JSON content; "UNKNOWNCAP" -> an unknown capability;
"HTTP500" -> status 500; anything else -> a fixed valid answer. Exits when stdin closes.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

GOOD = {"capabilities": ["coding", "reasoning"], "domains": ["python-assert", "mystery"]}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v1/chat/completions":
            self.send_response(404)
            self.end_headers()
            return
        user = body.get("messages", [{}])[-1].get("content", "")
        if "HTTP500" in user:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")
            return
        if "BADJSON" in user:
            content = "I think this needs coding skills."
        elif "UNKNOWNCAP" in user:
            content = json.dumps({"capabilities": ["telepathy"], "domains": []})
        else:
            content = "```json\n" + json.dumps(GOOD) + "\n```"
        answer = {"id": "x", "object": "chat.completion", "model": body.get("model", ""),
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
