#!/usr/bin/env python3
"""Checks the local endpoint's Files and Batches objects against OpenAI's API description.

usage: batch_spec_check.py SPEC.yaml < objects.tsv

SPEC.yaml is the OpenAPI document of /files and /batches (../shared/openai/batch-api.yaml),
converted to JSON Schema by openapi_schema.py beside this file, with two options: a property an
object does not require may be null (OpenAI's examples send null for a Batch's unset time stamps
and file ids, which the schemas type as integer and string), and an object schema with
`properties` admits no other property, so that a misspelt field fails.

Each stdin line is "SCHEMA<TAB>JSON": SCHEMA names a component (OpenAIFile, DeleteFileResponse,
Batch, ListBatchesResponse …) and JSON is an object the endpoint answered. On top of the schema,
what the document says in prose: a File's `object` is "file", a Batch's "batch", a list's
"list"; a Batch's metadata has at most 16 pairs, keys of at most 64 characters and values of at
most 512.

Before the objects, objects known to be wrong (derived from the first valid Batch and File) must
be rejected, so that a broken conversion cannot pass everything. Prints one summary line and
exits 0 when every object is valid; prints the invalid ones' errors and exits 1 otherwise; exits
2 on a usage error or an unreadable spec.
"""

import copy
import json
import os
import sys

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openapi_schema import schema_validator  # noqa: E402  (beside this file)

SHOWN_FAILURES = 5


def prose_rules(schema, value):
    problems = []
    if schema == "Batch" and isinstance(value, dict):
        metadata = value.get("metadata")
        if isinstance(metadata, dict):
            if len(metadata) > 16:
                problems.append(f"metadata has {len(metadata)} pairs (at most 16)")
            for key, text in metadata.items():
                if len(key) > 64 or (isinstance(text, str) and len(text) > 512):
                    problems.append(f"metadata pair {key[:20]!r} too long")
    if schema == "ListBatchesResponse" and isinstance(value, dict):
        for batch in value.get("data", []):
            problems += prose_rules("Batch", batch)
    return problems


class Checker:
    def __init__(self, spec_path):
        self.spec_path = spec_path
        self.validators = {}

    def problems(self, schema, value):
        if schema not in self.validators:
            self.validators[schema] = schema_validator(
                self.spec_path, schema, optional_nullable=True, closed=True)
        found = []
        for error in sorted(self.validators[schema].iter_errors(value),
                            key=lambda e: list(e.absolute_path)):
            where = "/".join(str(part) for part in error.absolute_path) or "(object)"
            found.append(f"{where}: {error.message[:200]}")
        return found + prose_rules(schema, value)


def wrong_objects(batch, file):
    """(what, schema, object) triples a correct check rejects, derived from valid objects."""
    def changed(schema, good, change):
        value = copy.deepcopy(good)
        change(value)
        return schema, value

    wrong = []
    if batch is not None:
        wrong += [
            ("a batch with status 'done'",) + changed("Batch", batch, lambda b: b.update(status="done")),
            ("a batch whose object is 'batches'",) + changed("Batch", batch, lambda b: b.update(object="batches")),
            ("a batch without input_file_id",) + changed("Batch", batch, lambda b: b.pop("input_file_id")),
            ("a batch with created_at as a string",) + changed("Batch", batch, lambda b: b.update(created_at="1711471533")),
            ("a batch whose request_counts lack total",) + changed("Batch", batch, lambda b: b["request_counts"].pop("total")),
            ("a batch with a misspelt field",) + changed("Batch", batch, lambda b: b.update(complete_at=None)),
            ("a batch with a number in metadata",) + changed("Batch", batch, lambda b: b.update(metadata={"n": 1})),
            ("a batch with 17 metadata pairs",) + changed("Batch", batch, lambda b: b.update(metadata={str(i): "v" for i in range(17)})),
            ("a list without has_more", "ListBatchesResponse", {"object": "list", "data": [batch]}),
        ]
    if file is not None:
        wrong += [
            ("a file without status",) + changed("OpenAIFile", file, lambda f: f.pop("status")),
            ("a file whose purpose is 'batches'",) + changed("OpenAIFile", file, lambda f: f.update(purpose="batches")),
            ("a file with bytes as a string",) + changed("OpenAIFile", file, lambda f: f.update(bytes="12")),
        ]
    return wrong


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    checker = Checker(sys.argv[1])
    try:
        checker.problems("Batch", {})
    except (OSError, KeyError, ValueError, yaml.YAMLError, jsonschema.SchemaError) as error:
        print(f"batch_spec_check: cannot read {sys.argv[1]}: {error}", file=sys.stderr)
        return 2
    lines = [line for line in sys.stdin.read().split("\n") if line]
    if not lines:
        print("batch_spec_check: no objects on stdin", file=sys.stderr)
        return 1
    failures = []
    first = {}
    counts = {}
    for number, line in enumerate(lines, start=1):
        schema, _, text = line.partition("\t")
        try:
            value = json.loads(text)
            problems = checker.problems(schema, value)
        except (ValueError, KeyError) as error:
            problems = [f"unreadable: {error}"]
            value = None
        counts[schema] = counts.get(schema, 0) + 1
        if problems:
            failures.append((f"line {number} ({schema})", problems))
        elif schema not in first:
            first[schema] = value
    accepted = [what for what, schema, value in wrong_objects(first.get("Batch"), first.get("OpenAIFile"))
                if not checker.problems(schema, value)]
    if accepted:
        print("batch_spec_check: the check accepts objects it must reject (it would pass "
              f"anything): {', '.join(accepted)}", file=sys.stderr)
        return 1
    for label, problems in failures[:SHOWN_FAILURES]:
        print(f"INVALID {label}:", file=sys.stderr)
        for problem in problems[:5]:
            print(f"  {problem}", file=sys.stderr)
    if failures:
        print(f"batch_spec_check: {len(failures)} of {len(lines)} objects invalid", file=sys.stderr)
        return 1
    shown = ", ".join(f"{count} {schema}" for schema, count in sorted(counts.items()))
    print(f"batch_spec_check: {len(lines)} objects valid ({shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
