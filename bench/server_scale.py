#!/usr/bin/env python3
"""Server scale: how many clients one `gatekeep serve` holds in long-polls at once, and how
fast it files and approves requests.

1. For N in the steps (up to 5,000): N clients open `GET /v1/requests/ID?wait=60` on
   pending requests at once; once all are held, the requests are approved; every client
   must get its answer with the new status. The largest N with no error is reported, with
   the service's resident memory and CPU time while holding 1,000.
2. Throughput: requests filed and approved per second (one client, keep-alive), with
   SQLite in WAL mode and synchronous=FULL.

Usage: bench/server_scale.py [MAX_N]   (uses target/release/gatekeep; builds nothing)
"""
import asyncio, hashlib, http.client, json, os, resource, subprocess, sys, tempfile, time

MAX_N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
STEPS = [n for n in (250, 1000, 2000, 3000, 4000, 5000) if n <= MAX_N]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
gatekeep = os.path.join(root, "target", "release", "gatekeep")
work = tempfile.mkdtemp(prefix="gk-scale-")
tokens = {"alice": "tok-alice-scale", "bob": "tok-bob-scale"}

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

with open(f"{work}/server.yaml", "w") as f:
    # One identity stands for every client here: lift its long-poll limit.
    f.write("requests: {max_waits_per_user: 20000}\n")
    f.write("users:\n")
    for name, groups in (("alice", []), ("bob", ["reviewers"])):
        digest = hashlib.sha256(tokens[name].encode()).hexdigest()
        f.write(f"  - {{name: {name}, token_sha256: {digest}, groups: {json.dumps(groups)}}}\n")
env = {"HOME": work, "XDG_STATE_HOME": f"{work}/state", "PATH": "/usr/bin:/bin"}
server = subprocess.Popen(
    [gatekeep, "serve", "--config", f"{work}/server.yaml", "--listen", "127.0.0.1:0", "--data", f"{work}/data"],
    env=env, stderr=subprocess.PIPE, text=True)
line = server.stderr.readline()
host, port = line.split("serving on http://")[1].split(" ")[0].split(":")
port = int(port)
ARGV = ["true"]
FACTS = {"argv": ARGV, "binary_sha256": "00" * 32, "cwd": "/", "resolved_path": "/usr/bin/true"}
DIGEST = hashlib.sha256(json.dumps(FACTS, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def call(conn, method, path, user, body=None):
    headers = {"Authorization": f"Bearer {tokens[user]}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
    return json.loads(payload) if payload else None


def new_request(conn):
    body = dict(FACTS, host="bench", user="alice", digest=DIGEST,
                approvals=[{"rule": "bench", "approvers": ["group:reviewers"], "quorum": 1}])
    return call(conn, "POST", "/v1/requests", "alice", body)["id"]


def approve(conn, request_id):
    call(conn, "POST", f"/v1/requests/{request_id}/reviews", "bob", {"verdict": "approve"})


def usage():
    """Resident memory (MiB) and CPU seconds of the service so far."""
    with open(f"/proc/{server.pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024
    with open(f"/proc/{server.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


async def hold(n, ids, held):
    """One long-poll; True when it comes back approved."""
    request_id = ids[n % len(ids)]
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write((f"GET /v1/requests/{request_id}?wait=60 HTTP/1.1\r\nHost: x\r\n"
                      f"Authorization: Bearer {tokens['alice']}\r\nConnection: close\r\n\r\n").encode())
        await writer.drain()
        held.append(1)
        data = await asyncio.wait_for(reader.read(), timeout=120)
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n")[0]:
            return False
        if b"chunked" in head.lower():
            return b'"status":"approved"' in body
        return json.loads(body).get("status") == "approved"
    except Exception:
        return False


async def round_of(n, measure):
    conn = http.client.HTTPConnection(host, port)
    ids = [new_request(conn) for _ in range(10)]
    held = []
    tasks = [asyncio.create_task(hold(i, ids, held)) for i in range(n)]
    while len(held) < n and not all(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # every request is on the wire and waiting
    sample = usage() if measure else None
    woke = time.perf_counter()
    for request_id in ids:
        approve(conn, request_id)
    results = await asyncio.gather(*tasks)
    return sum(1 for r in results if not r), sample, time.perf_counter() - woke


best = 0
try:
    for n in STEPS:
        cpu_before = usage()[1]
        errors, sample, answered = asyncio.run(round_of(n, n == 1000))
        cpu_round = usage()[1] - cpu_before
        print(f"  {n:5d} concurrent long-polls: {errors} errors; all answered {answered * 1000:.0f} ms after the approvals; "
              f"service CPU for the round {cpu_round:.2f} s")
        if sample:
            rss, cpu = sample
            print(f"        while holding 1000: RSS {rss:.1f} MiB, CPU {cpu - cpu_before:.2f} s to accept and hold them")
        if errors:
            break
        best = n
    print(f"largest N with no error: {best}")
    conn = http.client.HTTPConnection(host, port)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < 5.0:
        approve(conn, new_request(conn))
        count += 1
    elapsed = time.perf_counter() - start
    print(f"create + approve: {count / elapsed:.0f} requests/s ({count} in {elapsed:.1f} s, one client)")
finally:
    server.terminate()
    server.wait()
