#!/usr/bin/env python3
"""Replicas on PostgreSQL: two `gatekeep serve` replicas on one database.

1. Cross-replica latency: N times, `gatekeep run` waits on replica A, bob's review is
   POSTed to replica B, and the latency is the command's own start time minus the moment
   just before the POST.
2. Long-polls held by the two replicas: for each step up to MAX, that many clients (half
   on A, half on B) hold `GET /v1/requests/ID?wait=60` at once; the requests are then
   approved through B; every client must get its answer with the new status. Reported:
   errors, and each replica's resident memory while holding the largest step.
3. Throughput: requests filed and approved per second by one client (keep-alive), on
   PostgreSQL through replica A, and on SQLite with a single `gatekeep serve`.

Usage: bench/replicas.py DATABASE_URL [N] [MAX]   (uses target/release/gatekeep)
The database URL is an empty database of a running cluster, e.g. from tests/postgres.sh.
"""
import asyncio, hashlib, http.client, json, os, resource, statistics, subprocess, sys, tempfile, time, urllib.request

DATABASE = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 50
MAX = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
STEPS = [n for n in (1000, 2000, 5000, 10000) if n <= MAX]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
gatekeep = os.path.join(root, "target", "release", "gatekeep")
work = tempfile.mkdtemp(prefix="gk-replicas-")
tokens = {"alice": "tok-alice-replicas", "bob": "tok-bob-replicas"}
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
env = {"HOME": work, "XDG_STATE_HOME": f"{work}/state", "XDG_CONFIG_HOME": f"{work}/config", "PATH": "/usr/bin:/bin"}
subprocess.run([gatekeep, "keygen", f"{work}/signing.key"], env=env, check=True, capture_output=True)


def config(name, database):
    path = f"{work}/{name}.yaml"
    with open(path, "w") as f:
        if database:
            f.write(f'database: "{database}"\nsigning_key: {work}/signing.key\nreplica: {name}\n')
        # One identity stands for every client here: lift its long-poll limit.
        f.write("requests: {max_waits_per_user: 20000}\n")
        f.write("users:\n")
        for user, groups in (("alice", []), ("bob", ["reviewers"])):
            f.write(f"  - {{name: {user}, token_sha256: {hashlib.sha256(tokens[user].encode()).hexdigest()}, groups: {json.dumps(groups)}}}\n")
    return path


def serve(name, database):
    process = subprocess.Popen([gatekeep, "serve", "--config", config(name, database), "--listen", "127.0.0.1:0", "--data", f"{work}/{name}"],
                               env=env, stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    return process, line.split("serving on ")[1].split(" ")[0]


a, url_a = serve("a", DATABASE)
b, url_b = serve("b", DATABASE)
with open(f"{work}/policy.yaml", "w") as f:
    f.write("version: 1\nrules:\n  - id: bench\n    decision: approve\n    match: {program: sh}\n    approval: {approvers: [group:reviewers]}\n")

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


def rss(process):
    with open(f"/proc/{process.pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024


def latency():
    client_env = dict(env, GATEKEEP_SERVER=url_a, GATEKEEP_TOKEN=tokens["alice"])
    latencies = []
    for i in range(N):
        stamp = f"{work}/started-{i}"
        run = subprocess.Popen([gatekeep, "run", "--policy", f"{work}/policy.yaml", "--", "sh", "-c", f"date +%s%N > {stamp}"],
                               env=client_env, stderr=subprocess.PIPE, text=True)
        request_id = None
        while request_id is None:
            out = run.stderr.readline()
            if "approval required: request " in out:
                request_id = out.strip().rsplit(" ", 1)[1]
        time.sleep(0.05)  # the client is in its long-poll on A
        # The client names the request by its shortest unique prefix: the full id from B.
        lookup = urllib.request.Request(f"{url_b}/v1/requests?prefix={request_id}",
                                        headers={"Authorization": f"Bearer {tokens['bob']}"})
        request_id = json.loads(urllib.request.urlopen(lookup).read())["requests"][0]["id"]
        request = urllib.request.Request(f"{url_b}/v1/requests/{request_id}/reviews", data=json.dumps({"verdict": "approve"}).encode(),
                                         method="POST", headers={"Authorization": f"Bearer {tokens['bob']}", "Content-Type": "application/json"})
        before = time.time_ns()
        urllib.request.urlopen(request).read()
        run.wait()
        with open(stamp) as f:
            latencies.append((int(f.read().strip()) - before) / 1e6)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"approve on B -> command started via A, {N} runs: p50 {statistics.median(latencies):.1f} ms, "
          f"p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")


def split(url):
    host, port = url.split("://")[1].split(":")
    return host, int(port)


async def hold(n, ids, held):
    request_id = ids[n % len(ids)]
    host, port = split(url_a if n % 2 == 0 else url_b)
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
        return b'"status":"approved"' in body
    except Exception:
        return False


async def round_of(n):
    conn = http.client.HTTPConnection(*split(url_b))
    ids = [new_request(conn) for _ in range(10)]
    held = []
    tasks = [asyncio.create_task(hold(i, ids, held)) for i in range(n)]
    while len(held) < n and not all(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    await asyncio.sleep(2.0)  # every request is on the wire and waiting
    memory = (rss(a), rss(b))
    woke = time.perf_counter()
    for request_id in ids:
        approve(conn, request_id)
    results = await asyncio.gather(*tasks)
    return sum(1 for r in results if not r), memory, time.perf_counter() - woke


def throughput(url, label):
    conn = http.client.HTTPConnection(*split(url))
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < 5.0:
        approve(conn, new_request(conn))
        count += 1
    elapsed = time.perf_counter() - start
    print(f"create + approve on {label}: {count / elapsed:.0f} requests/s ({count} in {elapsed:.1f} s, one client)")


try:
    latency()
    for n in STEPS:
        errors, (rss_a, rss_b), answered = asyncio.run(round_of(n))
        print(f"  {n:5d} long-polls held by two replicas: {errors} errors; all answered {answered * 1000:.0f} ms after the approvals; "
              f"RSS A {rss_a:.1f} MiB, B {rss_b:.1f} MiB")
        if errors:
            break
    throughput(url_a, "PostgreSQL (replica A)")
    single, url_single = serve("single", None)
    try:
        throughput(url_single, "SQLite (one service)")
    finally:
        single.terminate()
        single.wait()
finally:
    for process in (a, b):
        process.terminate()
        process.wait()
