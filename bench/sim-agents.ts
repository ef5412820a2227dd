// Many lightweight simulated agents in one process, speaking the real protocol (shared/protocol.ts) over
// real WebSockets: each says hello, heartbeats, and finishes every assigned job (exit 0) at once, or after
// holdMs × (0.5 … 1.5) when holdMs is given (frames that take time, listed in heartbeats while they run).
// Used by bench/farm.ts; run as its own process so it does not share the coordinator's CPU accounting:
//   node --import tsx bench/sim-agents.ts <serverUrl> <count> <heartbeatMs> [cpusEach] [prefix] [holdMs]
// Prints one JSON line {"ready": n} once every agent is welcomed, and {"assigned": n} on SIGUSR2.

import WebSocket from "ws";
import { AGENT_PATH, PROTOCOL_VERSION, type CoordinatorMessage } from "../shared/protocol.js";
import { TEST_FARM_SECRET } from "../test/support/farm-secret.js";

const [serverUrl = "", countArg = "1", heartbeatArg = "5000", cpusArg = "1", prefix = "sim", holdArg = "0"] =
  process.argv.slice(2);
const count = Number(countArg);
const heartbeatMs = Number(heartbeatArg);
const cpus = Number(cpusArg);
const holdMs = Number(holdArg);
let welcomed = 0;
let assigned = 0;

function agent(i: number): void {
  const ws = new WebSocket(serverUrl.replace(/^http/, "ws") + AGENT_PATH, { perMessageDeflate: false });
  let timer: NodeJS.Timeout | null = null;
  /** Jobs held (holdMs > 0): job id -> attempt. */
  const running = new Map<number, number>();
  const send = (msg: object) => ws.send(JSON.stringify(msg));
  ws.on("open", () =>
    send({
      type: "hello",
      protocol: PROTOCOL_VERSION,
      hostname: `${prefix}${i}`,
      name: "",
      version: "sim",
      platform: "linux",
      arch: "linux-x86_64",
      cpus,
      cpuSpeed: 3000,
      memory: 1 << 20,
      ip: "127.0.0.1",
      clientPort: 5001,
      availabilityRules: [],
      running: [],
      token: process.env["OPENHQ_AGENT_TOKEN"] ?? TEST_FARM_SECRET,
    }),
  );
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString()) as CoordinatorMessage;
    if (msg.type === "welcome") {
      if (++welcomed === count) process.stdout.write(JSON.stringify({ ready: welcomed }) + "\n");
      else if (welcomed === launched) launchBatch();
      // Spread heartbeats over the interval, as real agents' jitter does.
      setTimeout(() => {
        timer = setInterval(
          () =>
            send({
              type: "heartbeat",
              load: 0,
              idleTime: -1,
              freeMemory: 1 << 19,
              available: true,
              running: [...running].map(([jobId, attempt]) => ({ jobId, attempt })),
            }),
          heartbeatMs,
        );
      }, Math.random() * heartbeatMs);
    } else if (msg.type === "assign") {
      assigned++;
      const { jobId, attempt } = msg;
      const finish = () => {
        running.delete(jobId);
        send({ type: "finished", jobId, attempt, seq: 1, exitCode: 0, signal: null, reason: "exited" });
      };
      if (holdMs > 0) {
        running.set(jobId, attempt);
        setTimeout(finish, holdMs * (0.5 + Math.random()));
      } else finish();
    }
  });
  ws.on("close", () => {
    if (timer) clearInterval(timer);
  });
  ws.on("error", () => {});
}

// Connect in batches of BATCH, the next once the last is welcomed, as a farm's agents trickle in: the
// coordinator bounds the sockets of one address not welcomed yet (openhq.maxConnectionsPerAddress, 256).
const BATCH = 100;
let launched = 0;
function launchBatch(): void {
  const end = Math.min(count, launched + BATCH);
  while (launched < end) agent(launched++);
}
launchBatch();
process.on("SIGUSR2", () => process.stdout.write(JSON.stringify({ assigned }) + "\n"));
process.on("SIGTERM", () => process.exit(0));
