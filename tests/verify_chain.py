#!/usr/bin/env python3
"""Verify a gatekeep audit log from its specification alone (docs/audit-log.md).

Usage: verify_chain.py LOG [SEGMENT...]  -- files oldest first; `.gz` segments are read
through gzip. Exit 0 intact, 1 broken.
"""
import gzip
import hashlib
import json
import sys


def lines_of(path):
    data = open(path, "rb").read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")


def parse(raw):
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


files = [lines_of(path) for path in sys.argv[1:]]
prev, expected, fragment, anchor = "0" * 64, 0, None, None
first = parse(files[0][0]) if files and files[0] else None
if first is not None and first.get("seq", 0) != 0:
    # The oldest records were removed by retention: a `retention` record further on names
    # the first record kept and the hash it chains to; the chain is verified from there.
    for lines in files:
        for raw in lines:
            record = parse(raw)
            if (record is not None and record.get("event") == "retention"
                    and record.get("first_kept_seq") == first["seq"]
                    and record.get("first_kept_prev") == first["prev"]):
                anchor = record
                break
        if anchor is not None:
            break
    if anchor is None:
        sys.exit(f"broken: records before seq {first['seq']} are missing")
    prev, expected = anchor["first_kept_prev"], anchor["first_kept_seq"]
for lines in files:
    offset = 0
    for raw in lines:
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
if anchor is not None and anchor["seq"] >= expected:
    sys.exit("broken: the retention record is not part of the verified chain")
if anchor is not None:
    print(f"ok {expected - anchor['first_kept_seq']} records"
          f" (0-{anchor['first_kept_seq'] - 1} removed by retention)")
else:
    print(f"ok {expected} records")
