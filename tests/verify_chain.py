#!/usr/bin/env python3
"""Verify a gatekeep audit log from its specification alone (docs/audit-log.md).

Usage: verify_chain.py LOG [SEGMENT...]  -- files oldest first. Exit 0 intact, 1 broken.
"""
import hashlib
import json
import sys

prev, expected, fragment = "0" * 64, 0, None
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    offset = 0
    for raw in data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"):
        line_offset, offset = offset, offset + len(raw) + 1
        try:
            record = json.loads(raw)
        except ValueError:
            fragment = (line_offset, raw)  # must be followed by a matching "recovered" record
            continue
        if fragment is not None:
            ok = (record.get("event") == "recovered" and record.get("offset") == fragment[0]
                  and record.get("length") == len(fragment[1])
                  and record.get("sha256") == hashlib.sha256(fragment[1]).hexdigest())
            if not ok:
                sys.exit(f"broken: unrecovered fragment before seq {expected}")
            fragment = None
        if record["seq"] != expected or record["prev"] != prev:
            sys.exit(f"broken at seq {expected}")
        prev, expected = hashlib.sha256(raw).hexdigest(), expected + 1
if fragment is not None:
    sys.exit(f"broken: torn tail after seq {expected - 1}")
print(f"ok {expected} records")
