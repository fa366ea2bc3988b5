#!/usr/bin/env python3
"""Approval latency: from the review POST to the approved command starting.

Starts `gatekeep serve` on 127.0.0.1:0, then N times: `gatekeep run` (as alice) files a
request for a command that writes its own start time, bob's review is POSTed, and the
latency is the child's start time minus the moment just before the POST.

Usage: bench/approval_latency.py [N]   (builds nothing: uses target/release/gatekeep)
"""
import hashlib, json, os, statistics, subprocess, sys, tempfile, time, urllib.request

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
gatekeep = os.path.join(root, "target", "release", "gatekeep")
work = tempfile.mkdtemp(prefix="gk-latency-")
tokens = {"alice": "tok-alice-bench", "bob": "tok-bob-bench"}
with open(f"{work}/server.yaml", "w") as f:
    f.write("users:\n")
    for name, groups in (("alice", []), ("bob", ["reviewers"])):
        f.write(f"  - {{name: {name}, token_sha256: {hashlib.sha256(tokens[name].encode()).hexdigest()}, groups: {json.dumps(groups)}}}\n")
with open(f"{work}/policy.yaml", "w") as f:
    f.write("version: 1\nrules:\n  - id: bench\n    decision: approve\n    match: {program: sh}\n")
env = {"HOME": work, "XDG_STATE_HOME": f"{work}/state", "XDG_CONFIG_HOME": f"{work}/config", "PATH": "/usr/bin:/bin"}
server = subprocess.Popen([gatekeep, "serve", "--config", f"{work}/server.yaml", "--listen", "127.0.0.1:0", "--data", f"{work}/data"],
                          env=env, stderr=subprocess.PIPE, text=True)
line = server.stderr.readline()
url = line.split("serving on ")[1].split(" ")[0]
client_env = dict(env, GATEKEEP_SERVER=url, GATEKEEP_TOKEN=tokens["alice"])
latencies = []
try:
    for i in range(N):
        stamp = f"{work}/started-{i}"
        run = subprocess.Popen([gatekeep, "run", "--policy", f"{work}/policy.yaml", "--", "sh", "-c", f"date +%s%N > {stamp}"],
                               env=client_env, stderr=subprocess.PIPE, text=True)
        request_id = None
        while request_id is None:
            out = run.stderr.readline()
            if "approval required: request " in out:
                request_id = out.strip().rsplit(" ", 1)[1]
        # The client names the request by its shortest unique prefix: the full id.
        lookup = urllib.request.Request(f"{url}/v1/requests?prefix={request_id}",
                                        headers={"Authorization": f"Bearer {tokens['bob']}"})
        request_id = json.loads(urllib.request.urlopen(lookup).read())["requests"][0]["id"]
        body = json.dumps({"verdict": "approve"}).encode()
        request = urllib.request.Request(f"{url}/v1/requests/{request_id}/reviews", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {tokens['bob']}", "Content-Type": "application/json"})
        before = time.time_ns()
        urllib.request.urlopen(request).read()
        run.wait()
        with open(stamp) as f:
            latencies.append((int(f.read().strip()) - before) / 1e6)
finally:
    server.terminate()
latencies.sort()
p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
print(f"approval latency over {N} runs: p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")
