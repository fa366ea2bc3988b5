"""Validates OCSF events (JSON Lines on stdin) against the published OCSF schema of the
version and with the profiles each event names (metadata.version, metadata.profiles),
as packaged by `ocsf-json-schema`, with
`jsonschema`. Prints one line per problem and exits 1 when there is any; prints the
number of events and classes checked otherwise."""

import json
import sys

import jsonschema
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

schemas = {}
classes = set()
problems = []


def schema_for(version, class_uid, profiles):
    key = (version, class_uid, tuple(profiles))
    if key not in schemas:
        embedded = OcsfJsonSchemaEmbedded(get_ocsf_schema(version))
        name = embedded.lookup_class_name_from_uid(class_uid)
        schema = embedded.get_class_schema(name, list(profiles))
        validator = jsonschema.validators.validator_for(schema)
        validator.check_schema(schema)
        schemas[key] = validator(schema)
    return schemas[key]


count = 0
for number, line in enumerate(sys.stdin, 1):
    if not line.strip():
        continue
    event = json.loads(line)
    count += 1
    version = event["metadata"]["version"]
    classes.add(event["class_uid"])
    profiles = event["metadata"].get("profiles", [])
    validator = schema_for(version, event["class_uid"], profiles)
    for error in validator.iter_errors(event):
        path = "/".join(str(p) for p in error.absolute_path) or "(event)"
        problems.append(f"line {number} ({event.get('message')}): {path}: {error.message}")

for problem in problems:
    print(problem)
if problems or count == 0:
    sys.exit(1)
print(f"{count} events of classes {sorted(classes)} conform")
