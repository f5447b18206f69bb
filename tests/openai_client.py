"""The frontend, driven by the official `openai` Python client (run by tests/frontend_e2e.sh).

One streaming and one non-streaming chat request opt into Dynamo's nvext fields with
`extra_body={"nvext": {"extra_fields": ["timing", "worker_id"]}}`. Checks that `nvext.timing`
arrives on the stream's final chunk only, that the server's `ttft_ms` is not larger than the
TTFT this client measured (and its `total_time_ms` not larger than the client's total), that
errors come back as the client's typed exceptions, and prints the nvext JSON and the
Server-Timing header. Exit status 0 when every check passed.
"""

import argparse
import json
import sys
import time

import openai

NVEXT = {"nvext": {"extra_fields": ["timing", "worker_id"]}}
MESSAGES = [
    {"role": "system", "content": "You are a simulated model. " * 20},
    {"role": "user", "content": "How fast is the first token?"},
]

passed = []
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    (passed if ok else failures).append(what)


def nvext_of(obj):
    return (obj.model_extra or {}).get("nvext")


def streaming(client, model):
    start = time.perf_counter()
    stream = client.chat.completions.create(
        model=model,
        messages=MESSAGES,
        max_tokens=48,
        stream=True,
        stream_options={"include_usage": True},
        extra_body=NVEXT,
    )
    first_token_s = None
    text = []
    timing_chunks = []
    final_nvext = None
    final_index = None
    usage = None
    for i, chunk in enumerate(stream):
        now = time.perf_counter()
        if chunk.choices and chunk.choices[0].delta.content:
            if first_token_s is None:
                first_token_s = now - start
            text.append(chunk.choices[0].delta.content)
        nvext = nvext_of(chunk)
        if nvext and "timing" in nvext:
            timing_chunks.append(i)
        if chunk.choices and chunk.choices[0].finish_reason:
            final_nvext = nvext
            final_index = i
        if chunk.usage:
            usage = chunk.usage
    total_s = time.perf_counter() - start
    check(first_token_s is not None and text, "stream: content chunks arrived")
    check(final_nvext is not None and "timing" in final_nvext, "stream: nvext.timing on the final chunk")
    check(timing_chunks == [final_index], f"stream: timing on the final chunk only ({timing_chunks})")
    check(final_nvext is not None and "worker_id" in final_nvext, "stream: nvext.worker_id present")
    check(usage is not None and usage.completion_tokens == len(text), "stream: usage counts the chunks")
    timing = (final_nvext or {}).get("timing", {})
    client_ttft_ms = (first_token_s or 0) * 1000
    server_ttft_ms = timing.get("ttft_ms", float("inf"))
    check(
        server_ttft_ms <= client_ttft_ms,
        f"stream: server ttft_ms {server_ttft_ms:.3f} <= client TTFT {client_ttft_ms:.3f} ms",
    )
    check(
        timing.get("total_time_ms", float("inf")) <= total_s * 1000,
        f"stream: server total_time_ms {timing.get('total_time_ms')} <= client total {total_s * 1000:.3f} ms",
    )
    print("stream nvext (final chunk):", json.dumps(final_nvext))


def unary(client, model):
    start = time.perf_counter()
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=MESSAGES, max_tokens=24, extra_body=NVEXT
    )
    total_s = time.perf_counter() - start
    response = raw.parse()
    nvext = nvext_of(response)
    check(response.choices[0].message.content, "unary: an answer")
    check(nvext is not None and "timing" in nvext and "worker_id" in nvext, "unary: nvext timing and worker_id")
    timing = (nvext or {}).get("timing", {})
    check(
        timing.get("ttft_ms", float("inf")) <= timing.get("total_time_ms", 0) <= total_s * 1000,
        f"unary: ttft_ms <= total_time_ms <= client total {total_s * 1000:.3f} ms",
    )
    server_timing = raw.headers.get("server-timing", "")
    names = [m.split(";")[0].strip() for m in server_timing.split(",")]
    check(names == ["queue", "prefill", "ttft", "decode", "total"], f"unary: Server-Timing metrics {names}")
    check(
        int(raw.headers.get("x-generated-tokens", -1)) == response.usage.completion_tokens,
        "unary: x-generated-tokens matches usage",
    )
    print("unary nvext:", json.dumps(nvext))
    print("unary Server-Timing:", server_timing)
    print("unary TGI headers:", {k: v for k, v in raw.headers.items() if k.startswith("x-")})


def errors(client, model):
    try:
        client.chat.completions.create(model="no-such-model", messages=MESSAGES)
        check(False, "unknown model raises NotFoundError")
    except openai.NotFoundError as e:
        check(e.status_code == 404 and e.code == "model_not_found", "unknown model raises NotFoundError")
    try:
        client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=0)
        check(False, "max_tokens 0 raises BadRequestError")
    except openai.BadRequestError as e:
        check(e.status_code == 400 and e.code == "invalid_value", "max_tokens 0 raises BadRequestError")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key="unused", max_retries=0, timeout=30)
    models = [m.id for m in client.models.list()]
    check(models == [args.model], f"models.list() is {models}")
    streaming(client, args.model)
    unary(client, args.model)
    errors(client, args.model)
    print(f"openai client: {len(passed)} checks passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
