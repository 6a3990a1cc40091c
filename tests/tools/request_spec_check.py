#!/usr/bin/env python3
"""Checks chat-completions request bodies against OpenAI's API description.

usage: request_spec_check.py SPEC.yaml < bodies.tsv

SPEC.yaml is an OpenAPI 3 document (../shared/openai/chat-completions.yaml), converted to JSON
Schema (Draft 2020-12) by openapi_schema.py beside this file.

Each stdin line is "LABEL<TAB>BODY" (hydrate_request_bodies writes them). A body must be strict
JSON in UTF-8 (no invalid bytes, lone surrogates, duplicate keys or NaN) and valid against
CreateChatCompletionRequest; on top of the schema, what the document states only in prose:
response_format.json_schema.name matches [a-zA-Z0-9_-]{1,64}, its schema is itself a valid JSON
Schema, and a json_object request says "JSON" in a message.

Before the bodies, bodies known to be wrong (temperature 5, an unknown response_format type, no
messages, …) must be rejected, so that a broken conversion cannot pass everything. After them,
the bodies must have covered every request shape hydrate sends (each response_format, both token
fields, with and without temperature, re-asks).

Prints one summary line and exits 0 when every body is valid; prints the first invalid bodies'
errors and exits 1 otherwise; exits 2 on a usage error or an unreadable spec.
"""

import copy
import functools
import json
import os
import re
import sys

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openapi_schema import schema_validator  # noqa: E402  (beside this file)

NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
SHOWN_FAILURES = 5


def reject_duplicates(pairs):
    keys = [key for key, _ in pairs]
    duplicated = {key for key in keys if keys.count(key) > 1}
    if duplicated:
        raise ValueError(f"duplicate keys {sorted(duplicated)}")
    return dict(pairs)


def reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def lone_surrogates(value):
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list):
        return any(lone_surrogates(item) for item in value)
    if isinstance(value, dict):
        return any(lone_surrogates(k) or lone_surrogates(v) for k, v in value.items())
    return False


@functools.lru_cache(maxsize=None)
def schema_problem_of(schema_text):
    """Why the schema (JSON text) is not a Draft 2020-12 JSON Schema; "" when it is one. Cached:
    the same few schemas come with every body."""
    try:
        jsonschema.Draft202012Validator.check_schema(json.loads(schema_text))
    except jsonschema.SchemaError as error:
        return error.message
    return ""


def prose_rules(body):
    """What the document says in descriptions rather than in schema keywords."""
    problems = []
    response_format = body.get("response_format")
    if not isinstance(response_format, dict):
        return problems
    if response_format.get("type") == "json_schema":
        json_schema = response_format.get("json_schema", {})
        name = json_schema.get("name", "")
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            problems.append(
                f"response_format.json_schema.name {name!r} is not [a-zA-Z0-9_-]{{1,64}}")
        schema_problem = schema_problem_of(json.dumps(json_schema.get("schema"), sort_keys=True))
        if schema_problem:
            problems.append(
                f"response_format.json_schema.schema is not a JSON Schema: {schema_problem}")
    if response_format.get("type") == "json_object":
        texts = [m.get("content") for m in body.get("messages", []) if isinstance(m, dict)]
        if not any(isinstance(t, str) and "json" in t.lower() for t in texts):
            problems.append("response_format json_object but no message says JSON")
    return problems


def problems_of(validator, raw):
    """Every reason the bytes of one body are not a valid request; [] when valid."""
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as error:
        return [f"not UTF-8: {error}"]
    try:
        body = json.loads(text, object_pairs_hook=reject_duplicates, parse_constant=reject_constant)
    except ValueError as error:
        return [f"not strict JSON: {error}"]
    if lone_surrogates(body):
        return ["a string holds a lone UTF-16 surrogate (not valid Unicode)"]
    problems = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path) or "(body)"
        detail = "; ".join(sub.message[:160] for sub in (error.context or [])[:3])
        problems.append(f"{where}: {error.message[:200]}" + (f" [{detail}]" if detail else ""))
    return problems + prose_rules(body)


def wrong_bodies(good):
    """(what, bytes) pairs that a correct validator must reject, derived from a valid body."""
    def changed(change):
        body = copy.deepcopy(good)
        change(body)
        return json.dumps(body).encode()

    def pop(key):
        return lambda body: body.pop(key)

    def put(key, value):
        return lambda body: body.__setitem__(key, value)

    text = json.dumps(good)
    return [
        ("temperature 5", changed(put("temperature", 5))),
        ("response_format type json_xml",
         changed(lambda body: body["response_format"].__setitem__("type", "json_xml"))),
        ("response_format json_schema without json_schema",
         changed(put("response_format", {"type": "json_schema"}))),
        ("no messages", changed(put("messages", []))),
        ("no model", changed(pop("model"))),
        ("max_tokens as a string", changed(put("max_tokens", "4096"))),
        ("a message with role robot",
         changed(lambda body: body["messages"][0].__setitem__("role", "robot"))),
        ("a message without content", changed(lambda body: body["messages"][0].pop("content"))),
        ("schema name with a space",
         changed(lambda body: body["response_format"]["json_schema"].__setitem__("name", "a b"))),
        ("a schema that is no JSON Schema",
         changed(lambda body: body["response_format"]["json_schema"].__setitem__(
             "schema", {"type": "objekt"}))),
        ("json_object without the word JSON",
         json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                     "response_format": {"type": "json_object"}}).encode()),
        ("invalid UTF-8", text.replace('"model"', '"mo\udcffdel"', 1).encode(
            "utf-8", errors="surrogateescape")),
        ("a lone surrogate", text.replace('"model":', '"x": "\\ud800", "model":', 1).encode()),
        ("a duplicate key", text.replace('"model":', '"model": "a", "model":', 1).encode()),
        ("NaN", text.replace('"model":', '"top_p": NaN, "model":', 1).encode()),
    ]


def shape_of(body):
    """The request shape a body shows, for the coverage check."""
    response_format = body.get("response_format", {}).get("type", "none")
    tokens = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    roles = "+".join(message["role"] for message in body["messages"])
    return {f"response_format {response_format}", tokens,
            "temperature" if "temperature" in body else "no temperature", roles}


EXPECTED_SHAPES = {
    "response_format json_schema", "response_format json_object", "response_format none",
    "max_tokens", "max_completion_tokens", "temperature", "no temperature",
    "system+user", "system+user+user", "system+user+assistant+user",
}


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        validator = schema_validator(sys.argv[1], "CreateChatCompletionRequest")
    except (OSError, KeyError, ValueError, yaml.YAMLError, jsonschema.SchemaError) as error:
        print(f"request_spec_check: cannot read {sys.argv[1]}: {error}", file=sys.stderr)
        return 2

    lines = [line for line in sys.stdin.buffer.read().split(b"\n") if line]
    if not lines:
        print("request_spec_check: no bodies on stdin", file=sys.stderr)
        return 1
    verdicts = {}  # body bytes -> problems; identical bodies are judged once
    failures = []
    shapes = set()
    for line in lines:
        label, _, raw = line.partition(b"\t")
        if raw not in verdicts:
            verdicts[raw] = problems_of(validator, raw)
            if not verdicts[raw]:
                shapes |= shape_of(json.loads(raw))
        if verdicts[raw]:
            failures.append((label.decode(errors="replace"), verdicts[raw]))

    # The bodies a correct check rejects, derived from a valid json_schema body.
    good = next((raw for raw, problems in verdicts.items()
                 if not problems and b'"type":"json_schema"' in raw), None)
    wrong = wrong_bodies(json.loads(good)) if good is not None else []
    accepted = [what for what, raw in wrong if not problems_of(validator, raw)]
    if accepted:
        print("request_spec_check: the check accepts bodies it must reject (it would pass "
              f"anything): {', '.join(accepted)}", file=sys.stderr)
        return 1

    for label, problems in failures[:SHOWN_FAILURES]:
        print(f"INVALID {label}:", file=sys.stderr)
        for problem in problems[:5]:
            print(f"  {problem}", file=sys.stderr)
    if failures:
        print(f"request_spec_check: {len(failures)} of {len(lines)} bodies invalid",
              file=sys.stderr)
        return 1
    missing = EXPECTED_SHAPES - shapes
    if missing:
        print(f"request_spec_check: no body showed {sorted(missing)}", file=sys.stderr)
        return 1
    print(f"request_spec_check: {len(lines)} bodies ({len(verdicts)} distinct) valid against "
          f"CreateChatCompletionRequest; {len(wrong)} wrong bodies rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
