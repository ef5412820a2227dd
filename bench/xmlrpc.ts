// XML-RPC throughput: `ping` calls/s over 8 keep-alive connections against the real coordinator process and,
// in the same run, against Python's stdlib threaded xmlrpc.server (ThreadingMixIn + SimpleXMLRPCServer, the
// same one-call-per-request model HQueue's own server has) as the baseline; plus the codec on its own.
//
// The load generator is raw TCP with a pre-encoded request and a minimal response parser, so it costs far
// less CPU than the servers it measures (all three share this box's cores). Each connection sends its next
// call when the previous answer is complete: no pipelining. Bounded by count and by time; 127.0.0.1 only.

import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { decodeMethodResponse } from "../shared/xmlrpc/decode.js";
import { encodeMethodCall, encodeMethodResponse } from "../shared/xmlrpc/encode.js";
import type { XmlRpcValue } from "../shared/xmlrpc/types.js";
import { startCoordinator } from "../test/support/coordinator.js";
import type { BenchResult } from "./types.js";

const CONNECTIONS = 8;
const WARMUP_MS = 1000;
const MEASURE_MS = 4000;
const MAX_CALLS = 1_000_000;

/** Calls/s of `ping` over CONNECTIONS keep-alive connections, after a warm-up. */
export async function pingRate(port: number): Promise<number> {
  const body = encodeMethodCall("ping", []);
  const request = Buffer.from(
    `POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/xml\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  let counting = false;
  let stopped = false;
  let calls = 0;
  let checked = false;
  const problems: string[] = [];

  const run = (): Promise<void> =>
    new Promise((resolve) => {
      let socket: Socket;
      let pending: Buffer = Buffer.alloc(0);
      const open = (): void => {
        socket = connect(port, "127.0.0.1");
        socket.setNoDelay(true);
        socket.on("connect", () => socket.write(request));
        socket.on("data", onData);
        socket.on("error", (err) => problems.push(err.message));
        // Python's server may close after an answer; a real client reconnects, so do we.
        socket.on("close", () => (stopped ? resolve() : open()));
        pending = Buffer.alloc(0);
      };
      const onData = (chunk: Buffer): void => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        for (;;) {
          const headEnd = pending.indexOf("\r\n\r\n");
          if (headEnd < 0) return;
          const head = pending.subarray(0, headEnd).toString("latin1");
          const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
          if (!head.startsWith("HTTP/1.1 200") && !head.startsWith("HTTP/1.0 200")) {
            problems.push(head.split("\r\n")[0] ?? head);
            stopped = true;
          }
          if (Number.isNaN(length)) {
            problems.push("answer without Content-Length");
            stopped = true;
            socket.destroy();
            return;
          }
          if (pending.length < headEnd + 4 + length) return;
          const answer = pending.subarray(headEnd + 4, headEnd + 4 + length);
          pending = pending.subarray(headEnd + 4 + length);
          if (!checked) {
            checked = true;
            const reply = decodeMethodResponse(answer.toString("utf8"));
            if (reply.fault || reply.value !== true) problems.push(`ping answered ${answer.toString()}`);
          }
          if (counting) calls++;
          if (stopped || calls >= MAX_CALLS) {
            stopped = true;
            socket.end();
            return;
          }
          socket.write(request);
        }
      };
      open();
    });

  const workers = Array.from({ length: CONNECTIONS }, run);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  counting = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  const elapsed = performance.now() - started;
  const counted = calls;
  stopped = true;
  await Promise.all(workers);
  if (problems.length > 0)
    throw new Error(`ping load failed: ${[...new Set(problems)].slice(0, 5).join("; ")}`);
  return (counted / elapsed) * 1000;
}

const PYTHON_SERVER = `
import socketserver, sys, xmlrpc.server
class Handler(xmlrpc.server.SimpleXMLRPCRequestHandler):
    # HTTP/1.1 so connections are kept alive as with the coordinator (the default HTTP/1.0 closes each one).
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, xmlrpc.server.SimpleXMLRPCServer):
    daemon_threads = True
server = Server(("127.0.0.1", 0), requestHandler=Handler, logRequests=False, allow_none=True)
server.register_function(lambda: True, "ping")
print(server.server_address[1], flush=True)
server.serve_forever()
`;

async function withPythonServer<T>(use: (port: number) => Promise<T>): Promise<T> {
  const child: ChildProcess = spawn("python3", ["-c", PYTHON_SERVER], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const [line] = (await once(child.stdout!, "data")) as [Buffer];
    return await use(Number(line.toString().trim()));
  } finally {
    child.kill();
  }
}

/** A getJobs reply of 100 jobs with the usual attributes, as the codec sees it most. */
function typicalJobs(): XmlRpcValue {
  return Array.from({ length: 100 }, (_, i) => ({
    id: 1000 + i,
    name: `render shot_${i} frames 1-240 <beauty> & mattes`,
    status: i % 3 === 0 ? "running" : "succeeded",
    priority: 5,
    progress: i / 100,
    queueTime: new Date(Date.UTC(2024, 0, 1, 12, 0, i % 60)),
    startTime: new Date(Date.UTC(2024, 0, 1, 12, 5, i % 60)),
    endTime: null,
    command: `hython /mnt/hq/scripts/render.py --frame ${i}`,
    tags: ["single", "houdini"],
    children: [2000 + i, 3000 + i],
    parentIds: [],
    conditions: [{ type: "client", name: "os", op: "==", value: "linux" }],
    environment: { HOUDINI_PATH: "/opt/hfs", JOB: `/proj/shot_${i}` },
    host: null,
    clients: [i % 7],
    uiStatus: "running",
    ETA: 120.5,
  }));
}

function opsPerSecond(fn: () => void, minMs = 1500): number {
  fn();
  let ops = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    ops++;
    elapsed = performance.now() - started;
  }
  return (ops / elapsed) * 1000;
}

export async function run(): Promise<BenchResult[]> {
  const coordinator = await startCoordinator();
  let ours: number;
  try {
    ours = await pingRate(coordinator.port);
  } finally {
    await coordinator.stop();
  }
  const python = await withPythonServer(pingRate);
  const ratio = ours / python;

  const reply = encodeMethodResponse(typicalJobs());
  const decodeRate = opsPerSecond(() => decodeMethodResponse(reply));
  const encodeRate = opsPerSecond(() => encodeMethodResponse(typicalJobs()));
  const kb = Math.round(Buffer.byteLength(reply) / 1024);

  return [
    {
      name: "xmlrpc: ping, coordinator, 8 keep-alive connections",
      value: Math.round(ours),
      unit: "calls/s",
      target: ">= 10000/s",
      ok: ours >= 10_000,
      note: "real coordinator process (test/support/coordinator.ts) on a private redis-server",
    },
    {
      name: "xmlrpc: ping, Python ThreadingMixIn SimpleXMLRPCServer (baseline)",
      value: Math.round(python),
      unit: "calls/s",
      note: "stdlib xmlrpc.server, HTTP/1.1 keep-alive, same load generator",
    },
    {
      name: "xmlrpc: ping, coordinator / Python",
      value: Math.round(ratio * 100) / 100,
      unit: "x",
      target: ">= 3x",
      ok: ratio >= 3,
    },
    {
      name: `xmlrpc codec: decode a getJobs reply (100 jobs, ${kb} KB)`,
      value: Math.round(decodeRate),
      unit: "ops/s",
      note: `${Math.round((decodeRate * kb) / 1024)} MB/s`,
    },
    {
      name: `xmlrpc codec: encode a getJobs reply (100 jobs, ${kb} KB)`,
      value: Math.round(encodeRate),
      unit: "ops/s",
      note: `${Math.round((encodeRate * kb) / 1024)} MB/s`,
    },
  ];
}
