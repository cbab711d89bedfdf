#!/usr/bin/env python3
"""An OpenAI-compatible endpoint that answers every chat completion at once with a fixed reply.

For benchmarking DataGenie end to end without waiting on a model (not used by the tests, which script their own
server in Rust). Usage:

    python3 scripts/instant_llm.py 8765 "SELECT COUNT(*) AS n FROM orders" &
    DATAGENIE_LLM__PROVIDER=openai DATAGENIE_LLM__BASE_URL=http://127.0.0.1:8765/v1 \
        hyperfine 'target/release/datagenie ask --no-summary --format json "How many orders?"'
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
SQL = sys.argv[2] if len(sys.argv) > 2 else "SELECT 1 AS one"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        body = json.dumps({
            "id": "instant", "object": "chat.completion", "model": "instant",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"```sql\n{SQL}\n```"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
