// The time `gatekeep mcp proxy` adds to a tool call on the allow path: the reference
// "everything" server's `echo` tool called N times directly and N times through the proxy
// (the official SDK client both ways), p50 and p99 of each, and of the difference.
//
//   node tests/mcp/latency.mjs GATEKEEP [N]
//
// GATEKEEP is the binary to measure (a release build: target/release/gatekeep). The proxy
// runs with the built-in library and the caller's configuration; the audit log goes to a
// temporary directory.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [gatekeep, count = "1000"] = process.argv.slice(2);
const n = Number(count);
const server = fileURLToPath(
  new URL("node_modules/@modelcontextprotocol/server-everything/dist/index.js", import.meta.url),
);
const state = mkdtempSync(join(tmpdir(), "gatekeep-mcp-latency-"));

async function measure(command, args) {
  const transport = new StdioClientTransport({
    command,
    args,
    env: { ...process.env, XDG_STATE_HOME: state, GATEKEEP_LOG: process.env.LATENCY_LOG ?? join(state, "audit.jsonl") },
    stderr: "ignore",
  });
  const client = new Client({ name: "latency", version: "1.0.0" });
  await client.connect(transport);
  await client.listTools();
  const times = [];
  for (let i = 0; i < n + 20; i++) {
    const start = process.hrtime.bigint();
    await client.callTool({ name: "echo", arguments: { message: `call ${i}` } });
    const took = Number(process.hrtime.bigint() - start) / 1e6;
    if (i >= 20) times.push(took); // the first calls warm up caches and the JIT
  }
  await client.close();
  return times.sort((a, b) => a - b);
}

const at = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const direct = await measure("node", [server, "stdio"]);
const proxied = await measure(gatekeep, ["mcp", "proxy", "--name", "everything", "--", "node", server, "stdio"]);
const row = (name, t) => `${name.padEnd(8)} p50 ${at(t, 0.5).toFixed(3)} ms  p99 ${at(t, 0.99).toFixed(3)} ms`;
console.log(`${n} echo calls each`);
console.log(row("direct", direct));
console.log(row("proxied", proxied));
console.log(
  `added    p50 ${(at(proxied, 0.5) - at(direct, 0.5)).toFixed(3)} ms  p99 ${(at(proxied, 0.99) - at(direct, 0.99)).toFixed(3)} ms`,
);
