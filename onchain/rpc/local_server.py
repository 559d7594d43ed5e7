"""``python -m onchain.rpc.local_server``: a JSON-RPC endpoint over LiteSVM for tests and `make run`.

Loads the committed program at its IDL address. Prints ``QD_RPC_PORT=<port>`` once listening
(``--port 0`` picks a free port). Standard-library HTTP server, one thread per connection, one
lock around the SVM. Not a cluster: no forks, no commitment levels, no websockets.
"""

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from solders.litesvm import LiteSVM

from onchain.build import BINARY
from onchain.client import QuantDeskClient
from onchain.rpc.local_methods import LocalRpcMethods, RpcError

PARSE_ERROR = -32700


def make_handler(methods: LocalRpcMethods):
    class JsonRpcHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes; with Nagle on, the body waits for the client's
        # delayed ACK of the headers (~40 ms per call on Linux).
        disable_nagle_algorithm = True

        def do_POST(self):  # noqa: N802 (http.server naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                request = json.loads(body)
            except ValueError:
                return self._reply({"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": "Parse error"}})
            if isinstance(request, list):
                return self._reply([self._answer(item) for item in request])
            return self._reply(self._answer(request))

        def _answer(self, request: dict) -> dict:
            try:
                result = methods.call(request.get("method", ""), request.get("params") or [])
                return {"jsonrpc": "2.0", "id": request.get("id"), "result": result}
            except RpcError as error:
                failure = {"code": error.code, "message": error.message}
                if error.data is not None:
                    failure["data"] = error.data
                return {"jsonrpc": "2.0", "id": request.get("id"), "error": failure}
            except (TypeError, ValueError) as error:
                return {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": -32602, "message": str(error)}}

        def _reply(self, payload) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_):  # keep test output quiet
            pass

    return JsonRpcHandler


def build_svm() -> LiteSVM:
    """A LiteSVM with the QuantDesk program at its IDL address."""
    svm = LiteSVM()
    svm.add_program(QuantDeskClient().program_id, BINARY.read_bytes())
    return svm


def serve(port: int, host: str = "127.0.0.1", methods: LocalRpcMethods | None = None) -> ThreadingHTTPServer:
    """Create (not start) the server; ``server.server_address[1]`` is the bound port."""
    server = ThreadingHTTPServer((host, port), make_handler(methods or LocalRpcMethods(build_svm())))
    server.daemon_threads = True
    return server


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m onchain.rpc.local_server")
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--host", default="127.0.0.1")
    options = parser.parse_args(argv)
    server = serve(options.port, options.host)
    print(f"QD_RPC_PORT={server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
