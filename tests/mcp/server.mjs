// A small MCP server (the official TypeScript SDK's McpServer) for the proxy's tests:
//   run_command {command}  runs a shell command line and answers its output
//   note {text}            appends text to the file NOTE_FILE names
// The description of `note` is read from the file NOTE_DESCRIPTION names (when set), so a
// test can change a tool's definition between two runs of the server.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { execFileSync } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { z } from "zod";

const server = new McpServer({ name: "gatekeep-test-server", version: "1.0.0" });

server.registerTool(
  "run_command",
  { description: "Runs a shell command line", inputSchema: { command: z.string() } },
  async ({ command }) => {
    let text;
    try {
      text = execFileSync("/bin/sh", ["-c", command], { encoding: "utf8" });
    } catch (error) {
      return { content: [{ type: "text", text: String(error.message) }], isError: true };
    }
    return { content: [{ type: "text", text }] };
  },
);

const description = process.env.NOTE_DESCRIPTION
  ? readFileSync(process.env.NOTE_DESCRIPTION, "utf8").trim()
  : "Appends a note";
server.registerTool(
  "note",
  { description, inputSchema: { text: z.string() } },
  async ({ text }) => {
    appendFileSync(process.env.NOTE_FILE, text + "\n");
    return { content: [{ type: "text", text: "noted" }] };
  },
);

await server.connect(new StdioServerTransport());
