"""Traces end to end (run by tests/frontend_e2e.sh): the official `openai` client sends chat
requests, each with its own W3C `traceparent` (`extra_headers`) and the nvext timing opt-in, to
a frontend started with `--otlp-endpoint`; the spans the frontend exported over OTLP/HTTP are
read back from tests/otlp_receiver.py's output (decoded by `opentelemetry-proto`).

For each request, matched by the trace id it sent:
  * one root span of kind SERVER named `chat <model>`, whose parent is the traceparent's span
    id, with `gen_ai.operation.name`, `gen_ai.request.model` and
    `gen_ai.usage.output_tokens` (= the usage the client read);
  * its children `queue`, `prefill`, `decode` (+ `kv_transfer` when `nvext.timing` has a KV
    transfer figure), kind INTERNAL, each the root's child, nothing else;
  * every duration equal to the `nvext.timing` figure the client read, exactly
    (`(end - start) ns / 1e6`, the crate's one millisecond formula): root = `total_time_ms`,
    queue = `prefill_wait_time_ms`, prefill = `prefill_time_ms`, kv_transfer =
    `kv_transfer_estimated_latency_ms`; decode starts at `ttft_ms` after the root and ends
    with it.
Prints one request's spans as the receiver decoded them (--show FILE writes them as JSON).
Exit status 0 when every check passed.
"""

import argparse
import json
import os
import sys
import time

import openai

NVEXT = {"nvext": {"extra_fields": ["timing"]}}
MESSAGES = [{"role": "user", "content": "Trace me."}]
SERVER, INTERNAL = "SPAN_KIND_SERVER", "SPAN_KIND_INTERNAL"

passed = []
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    (passed if ok else failures).append(what)


def traceparent():
    trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


def send(client, model, stream):
    """One chat request with its own traceparent: (trace id, parent span id, timing, tokens)."""
    trace_id, span_id, header = traceparent()
    kwargs = dict(model=model, messages=MESSAGES, max_tokens=12, extra_body=NVEXT,
                  extra_headers={"traceparent": header})
    if stream:
        nvext, tokens = None, None
        for chunk in client.chat.completions.create(
            stream=True, stream_options={"include_usage": True}, **kwargs
        ):
            extra = (chunk.model_extra or {}).get("nvext")
            if extra and "timing" in extra:
                nvext = extra
            if chunk.usage:
                tokens = chunk.usage.completion_tokens
    else:
        response = client.chat.completions.create(**kwargs)
        nvext = (response.model_extra or {}).get("nvext")
        tokens = response.usage.completion_tokens
    return trace_id, span_id, (nvext or {}).get("timing", {}), tokens


def spans_of(path, trace_ids):
    by_trace = {t: [] for t in trace_ids}
    with open(path) as f:
        for line in f:
            span = json.loads(line)
            if span["traceId"] in by_trace:
                by_trace[span["traceId"]].append(span)
    return by_trace


def attribute(span, key):
    for kv in span.get("attributes", []):
        if kv["key"] == key:
            value = kv["value"]
            return next(iter(value.values())) if value else None
    return None


def start(span):
    return int(span["startTimeUnixNano"])


def end(span):
    return int(span["endTimeUnixNano"])


def ms(nanos):
    """The crate's millisecond formula: one correctly rounded division."""
    return nanos / 1e6


def expected_children(timing):
    names = {"queue", "prefill", "decode"}
    if timing.get("kv_transfer_estimated_latency_ms") is not None:
        names.add("kv_transfer")
    return names


def complete(spans, timing):
    names = {s["name"] for s in spans}
    return any(s.get("kind") == SERVER for s in spans) and expected_children(timing) <= names


def verify(label, model, sent, spans):
    trace_id, parent, timing, tokens = sent
    roots = [s for s in spans if s.get("kind") == SERVER]
    check(len(roots) == 1, f"{label}: one SERVER root in trace {trace_id} ({len(roots)})")
    if len(roots) != 1:
        return
    root = roots[0]
    check(root["name"] == f"chat {model}", f"{label}: root named {root['name']!r}")
    check(root.get("parentSpanId") == parent,
          f"{label}: root's parent {root.get('parentSpanId')} is the traceparent's span {parent}")
    check(attribute(root, "gen_ai.operation.name") == "chat", f"{label}: gen_ai.operation.name")
    check(attribute(root, "gen_ai.request.model") == model, f"{label}: gen_ai.request.model")
    output = attribute(root, "gen_ai.usage.output_tokens")
    check(output is not None and int(output) == tokens,
          f"{label}: gen_ai.usage.output_tokens {output} = usage {tokens}")
    children = [s for s in spans if s is not root]
    names = sorted(s["name"] for s in children)
    check(names == sorted(expected_children(timing)), f"{label}: children {names}")
    for c in children:
        check(c.get("parentSpanId") == root["spanId"] and c.get("kind") == INTERNAL,
              f"{label}: {c['name']} is an INTERNAL child of the root")
    by_name = {c["name"]: c for c in children}

    def equal(what, got_ns, figure):
        check(figure is not None and ms(got_ns) == figure,
              f"{label}: {what} {got_ns} ns = nvext {figure} ms")

    equal("root duration", end(root) - start(root), timing.get("total_time_ms"))
    for name, key in [("queue", "prefill_wait_time_ms"), ("prefill", "prefill_time_ms"),
                      ("kv_transfer", "kv_transfer_estimated_latency_ms")]:
        if name in by_name:
            equal(f"{name} duration", end(by_name[name]) - start(by_name[name]), timing.get(key))
    if "decode" in by_name:
        decode = by_name["decode"]
        equal("decode start after the root", start(decode) - start(root), timing.get("ttft_ms"))
        check(end(decode) == end(root), f"{label}: decode ends with the root")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--spans", required=True, help="tests/otlp_receiver.py's --out")
    parser.add_argument("--show", help="write the streamed request's spans here (JSON)")
    parser.add_argument("--wait", type=float, default=20.0, help="seconds to wait for the export")
    args = parser.parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key="unused", max_retries=0, timeout=30)
    sent = {"stream": send(client, args.model, True), "unary": send(client, args.model, False)}
    sent["stream 2"] = send(client, args.model, True)
    trace_ids = [s[0] for s in sent.values()]

    # The batch processor exports on its schedule: wait (bounded) until every trace is complete.
    deadline = time.monotonic() + args.wait
    while True:
        by_trace = spans_of(args.spans, trace_ids)
        if all(complete(by_trace[s[0]], s[2]) for s in sent.values()):
            break
        if time.monotonic() > deadline:
            print(f"not every trace arrived within {args.wait} s")
            break
        time.sleep(0.2)
    for label, s in sent.items():
        check(bool(s[2]), f"{label}: the client read nvext.timing")
        verify(label, args.model, s, by_trace[s[0]])

    shown = sorted(by_trace[sent["stream"][0]], key=start)
    print("stream's spans as decoded:", json.dumps(shown))
    if args.show:
        with open(args.show, "w") as f:
            json.dump({"traceparent_span_id": sent["stream"][1], "nvext.timing": sent["stream"][2],
                       "spans": shown}, f, indent=2)
    print(f"otlp traces: {len(passed)} checks passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
