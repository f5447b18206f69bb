"""A minimal OTLP/HTTP trace receiver for tests/frontend_e2e.sh (no Collector or Jaeger is
installable on these machines).

Listens on 127.0.0.1 (port 0: the kernel picks; the port is written to --port-file), accepts
`POST /v1/traces` with an `application/x-protobuf` body (gzip accepted), decodes it with the
official `opentelemetry-proto` package (`ExportTraceServiceRequest`), appends one JSON line per
span to --out, and answers an empty `ExportTraceServiceResponse`, as the Collector's `otlp`
receiver does. Each line is the span as `google.protobuf.json_format` prints it (the OTLP JSON
mapping: ids in hex, nanosecond times as strings), plus the resource's `service.name`.
Anything else is answered 404 / 415 / 400. Stops on SIGTERM.
"""

import argparse
import gzip
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PROTOBUF = "application/x-protobuf"


def span_json(span, service):
    d = MessageToDict(span)
    # OTLP/JSON writes trace and span ids as hex (the proto3 JSON mapping would write base64).
    d["traceId"] = span.trace_id.hex()
    d["spanId"] = span.span_id.hex()
    if span.parent_span_id:
        d["parentSpanId"] = span.parent_span_id.hex()
    d["service.name"] = service
    return d


def service_name(resource):
    for kv in resource.attributes:
        if kv.key == "service.name":
            return kv.value.string_value
    return None


class Handler(BaseHTTPRequestHandler):
    out = None

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", content_type="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != "/v1/traces":
            return self.reply(404, b"only /v1/traces")
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != PROTOBUF:
            return self.reply(415, b"only application/x-protobuf")
        if (self.headers.get("Content-Encoding") or "").strip() == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception as e:  # a body that is not an ExportTraceServiceRequest
            return self.reply(400, str(e).encode())
        lines = []
        for rs in request.resource_spans:
            service = service_name(rs.resource)
            for ss in rs.scope_spans:
                for span in ss.spans:
                    lines.append(json.dumps(span_json(span, service)))
        with open(self.out, "a") as f:
            f.writelines(line + "\n" for line in lines)
        self.reply(200, ExportTraceServiceResponse().SerializeToString(), PROTOBUF)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    Handler.out = args.out
    open(args.out, "w").close()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
