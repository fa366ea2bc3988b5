"""Validates a JSON document against a JSON Schema (draft 2020-12) with `jsonschema`:
`json-schema-validate.py SCHEMA DOCUMENT`. Prints one line per problem and exits 1 when
there is any."""

import json
import sys

import jsonschema

with open(sys.argv[1]) as f:
    schema = json.load(f)
with open(sys.argv[2]) as f:
    document = json.load(f)
validator = jsonschema.Draft202012Validator(schema)
validator.check_schema(schema)
problems = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
for error in problems:
    path = "/".join(str(p) for p in error.absolute_path) or "(document)"
    print(f"{path}: {error.message}")
sys.exit(1 if problems else 0)
