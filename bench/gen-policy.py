#!/usr/bin/env python3
"""Write a policy with N rules over N/4 programs, mixing every kind of condition.

Usage: gen-policy.py N > rules.yaml   (the same shape as benches/policy.rs generates)
"""
import sys

n = int(sys.argv[1])
print("version: 1\nrules:")
for i in range(n):
    condition = [
        f'options: {{"-h|--host": "prod{i}*"}}',
        f'flags: ["-r|--recursive", "-f|--force"], args: ["/srv/{i}"]',
        f'args: [delete, [ns{i}, namespace{i}]]',
        f'any_arg: ["re:(?i)drop\\\\s+table{i}"]',
    ][i % 4]
    print(f"  - id: rule-{i}\n    decision: approve\n    match: {{program: tool{i // 4}, {condition}}}")
