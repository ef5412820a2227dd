// Crash detection: when an agent's link drops, tell a dead agent process from a network partition. A host
// whose agent process is gone still answers TCP: the agent's client port (5001) refuses the connection at
// once. A partition or a stopped process does not refuse (no answer, or the kernel still accepts), so only
// a refusal from every address the agent is known by counts as dead; then the attempts it held when the link
// dropped go back to the queue as lost (blade-lost.ts) within seconds instead of after activeTimeout.

import { connect } from "node:net";
import type { LinkHost } from "./connection.js";
import { clientAddress } from "../store/clients.js";
import { attemptsHeld, bladeLost } from "./blade-lost.js";

/** Probes after a drop: the first soon (a restarting agent has its port back within a second or two). */
const PROBE_GAPS_MS = [1000, 1500, 2000];
const PROBE_TIMEOUT_MS = 2000;

export type Reach = "refused" | "open" | "silent";

/** One TCP connect to host:port: refused, open, or no answer within timeoutMs. */
export function probePort(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<Reach> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (reach: Reach) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reach);
    };
    const timer = setTimeout(() => done("silent"), timeoutMs);
    socket.once("connect", () => done("open"));
    socket.once("error", (err: NodeJS.ErrnoException) =>
      done(err.code === "ECONNREFUSED" ? "refused" : "silent"),
    );
  });
}

export interface DroppedAgent {
  clientId: number;
  label: string;
  /** The address the link came from (the agent, or a proxy in front of the coordinator). */
  remoteAddress: string;
}

/**
 * After an agent's link dropped: probes its client port a few times; when every probe of every address is
 * refused, the attempts it held at the drop end as lost (a later attempt, or a job that finished meanwhile,
 * is left alone).
 */
export async function watchDroppedAgent(host: LinkHost, agent: DroppedAgent): Promise<void> {
  const { ctx } = host;
  const id = agent.clientId;
  const attempts = await attemptsHeld(ctx, id);
  if (attempts.length === 0) return;
  for (const gap of PROBE_GAPS_MS) {
    await new Promise((resolve) => setTimeout(resolve, gap).unref());
    // Read again each time: an agent that restarted meanwhile may listen on another port or address.
    const [ip, port] = await clientAddress(ctx, id);
    const addresses = [...new Set([agent.remoteAddress, ip ?? ""].filter((a) => a !== ""))];
    if (!(Number(port) > 0) || addresses.length === 0) return;
    const reach = await Promise.all(addresses.map((a) => probePort(a, Number(port))));
    if (reach.some((r) => r !== "refused")) return;
  }
  await bladeLost(
    host,
    { clientId: id, label: agent.label },
    "agent process gone (client port refused)",
    attempts,
  );
}
