#!/usr/bin/env python3
"""A stand-in for the two Neutron reads real Nova's API makes while it renders a server
(the contract tests' Nova, scripts/real_nova.py): which ports a server has
(`GET /v2.0/ports?device_id=...`) and their security groups. The seeded servers
have none, so both lists are empty. It is not under test and says so in every
answer's `X-Stand-In` header; Neutron itself does not run here.

Usage: neutron_standin.py PORT   (listens on 127.0.0.1 only)
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

EMPTY = {"/v2.0/ports": "ports", "/v2.0/security-groups": "security_groups"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = urlparse(self.path).path.rstrip("/")
        key = EMPTY.get(path.removesuffix(".json"))
        status, body = (200, {key: []}) if key else (404, {"NeutronError": {
            "type": "HTTPNotFound", "message": f"{path} is not served by this stand-in", "detail": ""}})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Stand-In", "neutron (scripts/neutron_standin.py)")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
