// A real MCP client (the official TypeScript SDK) for the proxy's integration tests.
//
//   node client.mjs PLAN -- COMMAND [ARGS...]
//
// starts COMMAND over stdio (normally `gatekeep mcp proxy ... -- SERVER ...`) and runs
// PLAN, a JSON list of steps, printing one JSON line per step on stdout:
//   {"list": true}                       the tools the client is shown
//   {"call": NAME, "args": {...}}        a tool call's result, or the error it raised
//   {"call": NAME, "args": {...}, "cancel": true}
//                                        starts the call, prints {"calling": NAME}, and
//                                        cancels it (notifications/cancelled) when a line
//                                        arrives on this script's stdin
// The proxy's stderr passes through to this script's stderr.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { createInterface } from "node:readline";

const argv = process.argv.slice(2);
const plan = JSON.parse(argv[0]);
const split = argv.indexOf("--");
const [command, ...args] = argv.slice(split + 1);

const lines = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));
const say = (value) => process.stdout.write(JSON.stringify(value) + "\n");

const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
const client = new Client({ name: "gatekeep-tests", version: "1.0.0" });
await client.connect(transport);
say({ connected: true });
// Long enough for a person to decide; a test ends the wait itself.
const options = { timeout: 10 * 60 * 1000 };
// As agents do, the tools are listed once the session starts: the proxy makes calls
// only to tools the server listed in the session.
await client.listTools(undefined, options);

for (const step of plan) {
  if (step.list) {
    const { tools } = await client.listTools(undefined, options);
    say({ list: tools.map((t) => t.name) });
  } else if (step.call && step.cancel) {
    const controller = new AbortController();
    const call = client
      .callTool({ name: step.call, arguments: step.args ?? {} }, undefined, { ...options, signal: controller.signal })
      .then((result) => ({ result }), (error) => ({ error: String(error.message ?? error) }));
    say({ calling: step.call });
    await nextLine();
    controller.abort("the test cancels the call");
    say({ call: step.call, ...(await call) });
  } else if (step.call) {
    try {
      const result = await client.callTool({ name: step.call, arguments: step.args ?? {} }, undefined, options);
      say({ call: step.call, result });
    } catch (error) {
      say({ call: step.call, error: String(error.message ?? error) });
    }
  } else if (step.wait) {
    // A line on stdin: the test has done what it needed between two steps.
    say({ waiting: true });
    await nextLine();
  }
}
await client.close();
lines.close();
