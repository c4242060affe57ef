// A reference MCP client built on the official TypeScript SDK. Go tests run
// it against MCPSoc's servers:
//   node client.mjs stdio <command> [args...]
//   node client.mjs http <url>
// TOOL (default "test_simple_text") and TOOL_ARGS (JSON) choose a tool call.
// It prints one JSON line describing the session and exits non-zero on error.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, target, ...rest] = process.argv.slice(2);
const transport = mode === "stdio"
  ? new StdioClientTransport({ command: target, args: rest, stderr: "inherit" })
  : new StreamableHTTPClientTransport(new URL(target));

let negotiated = null;
const setVersion = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (v) => { negotiated = v; setVersion?.(v); };

const client = new Client({ name: "mcpsoc-interop", version: "1.0.0" });
const started = Date.now();
try {
  await client.connect(transport);
  const connectMs = Date.now() - started;
  const { tools } = await client.listTools();
  const { prompts } = await client.listPrompts();
  const { resources } = await client.listResources();
  const result = await client.callTool({
    name: process.env.TOOL ?? "test_simple_text",
    arguments: JSON.parse(process.env.TOOL_ARGS ?? "{}"),
  });
  console.log(JSON.stringify({
    connectMs,
    serverInfo: client.getServerVersion(),
    protocolVersion: negotiated,
    tools: tools.map((t) => ({ name: t.name, annotations: t.annotations ?? null })),
    prompts: prompts.map((p) => p.name),
    resources: resources.map((r) => r.uri),
    result,
  }));
} catch (err) {
  console.error(String(err?.stack ?? err));
  process.exitCode = 1;
} finally {
  await client.close();
}
