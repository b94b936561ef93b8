"""A gRPC server for probe's tests: grpcio with the standard health service (grpcio-health-checking),
listening on ephemeral ports (IPv4, IPv6) and optionally a unix socket. Writes one JSON line to
--ready-file once it listens: {"port": ..., "port6": ...}. Each health call is appended to
--calls-file as a JSON line: the request's service, metadata and the time the client gave it.
Lines 'SERVICE=STATUS' appended to --control-file while it runs change a service's status (a
server that becomes healthy while a client waits).

    grpc_server.py --ready-file F --calls-file C [--control-file K] [--status SERVICE=STATUS ...]
                   [--no-health] [--token T] [--tls CERT KEY] [--client-ca CA] [--sleep SECONDS]
                   [--unix PATH]
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--calls-file", required=True)
    parser.add_argument("--control-file", help="SERVICE=STATUS lines appended here apply at once")
    parser.add_argument("--status", action="append", default=[], help="SERVICE=STATUS; '' is the server")
    parser.add_argument("--no-health", action="store_true", help="no health service: UNIMPLEMENTED")
    parser.add_argument("--token", help="demand 'authorization: Bearer TOKEN'")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--client-ca", help="demand a client certificate signed by this CA")
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds each Check sleeps first")
    parser.add_argument("--unix", help="also listen on this unix socket")
    args = parser.parse_args()

    calls = open(args.calls_file, "a", buffering=1)
    lock = threading.Lock()

    class Recorded(health.HealthServicer):
        def Check(self, request, context):
            remaining = context.time_remaining()
            with lock:
                calls.write(json.dumps({
                    "service": request.service,
                    "metadata": [[key, value if isinstance(value, str) else value.hex()]
                                 for key, value in context.invocation_metadata()],
                    "time_remaining": remaining,
                }) + "\n")
            if args.sleep:
                time.sleep(args.sleep)
            return super().Check(request, context)

    interceptors = [TokenRequired(args.token)] if args.token else []
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=interceptors)
    if not args.no_health:
        servicer = Recorded()
        for pair in args.status:
            service, status = pair.split("=", 1)
            servicer.set(service, health_pb2.HealthCheckResponse.ServingStatus.Value(status))
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)

    if args.tls:
        cert, key = (open(path, "rb").read() for path in args.tls)
        client_ca = open(args.client_ca, "rb").read() if args.client_ca else None
        credentials = grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None)
        listen = lambda address: server.add_secure_port(address, credentials)
    else:
        listen = server.add_insecure_port
    ready = {"port": listen("127.0.0.1:0")}
    ready["port6"] = listen("[::1]:0")
    if args.unix:
        listen(f"unix:{args.unix}")
    server.start()
    if args.control_file and not args.no_health:
        threading.Thread(target=follow, args=(args.control_file, servicer), daemon=True).start()
    # Written whole, then renamed: the test never reads half a line.
    with open(args.ready_file + ".tmp", "w") as out:
        out.write(json.dumps(ready) + "\n")
    os.rename(args.ready_file + ".tmp", args.ready_file)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=None)


def follow(path, servicer):
    """Applies each complete 'SERVICE=STATUS' line appended to `path`, as it comes."""
    done = 0
    while True:
        try:
            with open(path) as control:
                lines = control.read().split("\n")[:-1]
        except FileNotFoundError:
            lines = []
        for line in lines[done:]:
            service, status = line.split("=", 1)
            servicer.set(service, health_pb2.HealthCheckResponse.ServingStatus.Value(status))
        done = max(done, len(lines))
        time.sleep(0.02)


class TokenRequired(grpc.ServerInterceptor):
    """Refuses every call without 'authorization: Bearer TOKEN', as an auth middleware does."""

    def __init__(self, token):
        self.expected = f"Bearer {token}"

        def refuse(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong token")

        self.refusal = grpc.unary_unary_rpc_method_handler(refuse)

    def intercept_service(self, continuation, details):
        metadata = dict(details.invocation_metadata)
        if metadata.get("authorization") == self.expected:
            return continuation(details)
        return self.refusal


if __name__ == "__main__":
    sys.exit(main())
