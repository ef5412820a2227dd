// The notices benchmark (issue 19): dispatch+finish of NOTICES_JOBS jobs (default 20,000) on 200 simulated
// agents, measured over half of them from the first success on, in three set-ups: nothing configured; one
// webhook hearing every success and failure (a live receiver in this process answering 200) plus an SSE
// viewer of GET /events subscribed to everything; and the same with the webhook's endpoint dead (connection
// refused, retried). The webhook's farm keeps up to 100,000 notices (openhq.notices.maxOutbox): deliveries
// yield to a flood this long, and the default bound of 10,000 would drop some. The box is shared and noisy,
// so the set-ups run interleaved, NOTICES_ROUNDS rounds (default 5), and each round's ratio is against that
// round's plain farm: the figure is the median ratio, the note gives the range. A window of 10,000 jobs is
// 2-3 s at the plain farm's rate (5,000 jobs gave single rounds 30% apart on a quiet box). The target is >= 0.9x. Per set-up the note also gives the coordinator's and Redis's
// CPU per 1,000 jobs (where the cost goes) and how many deliveries and SSE events arrived.
// NOTICES_SETUPS=plain,sse,hook,live,dead picks the set-ups (plain is always measured): sse is the viewer
// alone and hook the live webhook alone, to tell which part costs what.

import { readFileSync } from "node:fs";
import { createServer, request, type IncomingMessage } from "node:http";
import { iniArgs } from "../test/support/farm-kit.js";
import { freePort } from "../test/support/ports.js";
import { dispatchRate, farm, fill, plain, type Farm } from "./scale.js";
import type { BenchResult } from "./types.js";

const JOBS = Number(process.env.NOTICES_JOBS ?? 20_000);
const ROUNDS = Number(process.env.NOTICES_ROUNDS ?? 5);
const LAG_LIMIT_MS = 120_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Measured {
  rate: number;
  /** CPU ms per 1,000 jobs measured, of the coordinator process and of redis-server. */
  coordCpu: number;
  redisCpu: number;
  /** This process's (the sim agents', the receiver's and the viewer's). */
  benchCpu: number;
}

/** CPU time (user + system) of a process in ms, from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function redisCpuMs(f: Farm): Promise<number> {
  const info = await f.redis.info("cpu");
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return (field("used_cpu_sys") + field("used_cpu_user")) * 1000;
}

/** An SSE viewer of everything: counts the events it is sent, without parsing more than it must. */
function viewEvents(url: string): { opened: Promise<void>; events(): number; close(): void } {
  let events = 0;
  let res: IncomingMessage | null = null;
  const req = request(`${url}/events`, { headers: { accept: "text/event-stream" } });
  const opened = new Promise<void>((resolve, reject) => {
    req.on("response", (r) => {
      res = r;
      if (r.statusCode !== 200) reject(new Error(`GET /events: HTTP ${r.statusCode}`));
      r.on("data", (chunk: Buffer) => {
        for (let i = chunk.indexOf("event: "); i !== -1; i = chunk.indexOf("event: ", i + 7)) events++;
        if (events > 0) resolve();
      });
    });
    req.on("error", reject);
  });
  req.end();
  return {
    opened,
    events: () => events,
    close: () => {
      res?.destroy();
      req.destroy();
    },
  };
}

/**
 * One farm: its dispatch rate and CPU; with `delivered` (the receiver's count), also how long after the
 * measurement's end every job that succeeded had its delivery (deliveries yield to a busy dispatch).
 */
async function measure(
  ini: string,
  viewer: boolean,
  delivered?: () => number,
): Promise<Measured & { seen: number; lagS: number | null; duringWindow: number }> {
  const f = await farm(ini === "" ? {} : { args: iniArgs(`[main]\n${ini}`) });
  const sse = viewer ? viewEvents(f.coord.url) : null;
  try {
    await fill(f, JOBS, plain());
    await sse?.opened;
    const pid = f.coord.process.pid as number;
    const [coord0, redis0, bench0] = [cpuMs(pid), await redisCpuMs(f), ownCpuMs()];
    const measured = Math.floor(JOBS / 2);
    const windowStart = process.hrtime.bigint() / 1000n;
    const deliveredBefore = delivered?.() ?? 0;
    const rate = await dispatchRate(f, measured);
    // Deliveries compete with dispatch for the coordinator's event loop: the sender should hold back now.
    const duringWindow = (delivered?.() ?? 0) - deliveredBefore;
    if (process.env.SCALE_PROF) console.log(`window ${pid} ${windowStart} ${process.hrtime.bigint() / 1000n}`);
    const [coord1, redis1, bench1] = [cpuMs(pid), await redisCpuMs(f), ownCpuMs()];
    // The CPU figures span the whole dispatch (the agents' start included), so they are per job dispatched.
    const done = await f.redis.zcard(f.keys.jobsByStatus("succeeded"));
    let lagS: number | null = null;
    if (delivered !== undefined) {
      const t0 = performance.now();
      while (delivered() < done && performance.now() - t0 < LAG_LIMIT_MS) await sleep(20);
      if (delivered() >= done) lagS = (performance.now() - t0) / 1000;
    }
    return {
      rate,
      coordCpu: ((coord1 - coord0) / done) * 1000,
      redisCpu: ((redis1 - redis0) / done) * 1000,
      benchCpu: ((bench1 - bench0) / done) * 1000,
      seen: sse?.events() ?? 0,
      lagS,
      duringWindow,
    };
  } finally {
    sse?.close();
    await f.stop();
  }
}

const SETUP_NAMES = {
  live: "dispatch with a webhook on every success and an SSE viewer of everything / without",
  dead: "dispatch with a dead webhook endpoint and an SSE viewer / without",
  sse: "dispatch with an SSE viewer of everything alone / without",
  hook: "dispatch with a webhook on every success alone / without",
} as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const range = (xs: number[], digits: number) =>
  `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

export async function run(): Promise<BenchResult[]> {
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  const address = receiver.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const deadPort = await freePort();
  const hook = (url: string) =>
    `openhq.webhooks.bench.url = ${url}\nopenhq.webhooks.bench.events = succeeded,failed\nopenhq.webhooks.bench.secret = s\n` +
    "openhq.notices.maxOutbox = 100000\n";
  const setups = {
    plain: { ini: "", viewer: false },
    live: { ini: hook(`http://127.0.0.1:${port}/hook`), viewer: true },
    dead: { ini: hook(`http://127.0.0.1:${deadPort}/hook`), viewer: true },
    sse: { ini: "", viewer: true },
    hook: { ini: hook(`http://127.0.0.1:${port}/hook`), viewer: false },
  };
  type Setup = keyof typeof setups;
  const picked = (process.env.NOTICES_SETUPS ?? "live,dead")
    .split(",")
    .filter((name): name is Exclude<Setup, "plain"> => name in SETUP_NAMES);
  const all: Setup[] = ["plain", ...picked];
  const runs = Object.fromEntries(all.map((name) => [name, []])) as unknown as Record<
    Setup,
    (Measured & { seen: number; received: number; lagS: number | null; duringWindow: number })[]
  >;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Each round in a different order, so that a slow spell of the box does not always hit the same set-up.
      const order = all.map((_, i) => all[(i + round) % all.length]!);
      for (const name of order) {
        const before = received;
        const m = await measure(
          setups[name].ini,
          setups[name].viewer,
          name === "live" || name === "hook" ? () => received - before : undefined,
        );
        runs[name].push({ ...m, received: received - before });
      }
    }
  } finally {
    receiver.close();
  }
  const cpu = (ms: Measured[]) =>
    `coordinator ${range(
      ms.map((m) => m.coordCpu),
      0,
    )} ms, redis ${range(
      ms.map((m) => m.redisCpu),
      0,
    )} ms, bench (agents, receiver, viewer) ${range(
      ms.map((m) => m.benchCpu),
      0,
    )} ms CPU per 1,000 jobs`;
  const ratio = (name: string, which: Setup): BenchResult => {
    const ratios = runs[which].map((m, i) => m.rate / (runs.plain[i] as Measured).rate);
    const r = median(ratios);
    const extra = runs[which]
      .map(
        (m) =>
          `${m.seen} SSE events` +
          (which === "live" || which === "hook"
            ? `, ${m.received} deliveries (${m.duringWindow} while dispatch was measured), ${m.lagS === null ? "NOT all" : "all"} delivered ${
                m.lagS === null ? `within ${LAG_LIMIT_MS / 1000}` : m.lagS.toFixed(1)
              } s after dispatch stopped`
            : ""),
      )
      .join("; ");
    return {
      name,
      value: +r.toFixed(2),
      unit: "x",
      target: ">= 0.9",
      ok: r >= 0.9,
      note: `median of ${ROUNDS} rounds, range ${range(ratios, 2)}; ${range(
        runs[which].map((m) => m.rate),
        0,
      )} jobs/s; ${cpu(runs[which])}; ${extra}`,
    };
  };
  return [
    {
      name: `dispatch+finish, no notices (${JOBS} jobs, 200 sim agents)`,
      value: Math.round(median(runs.plain.map((m) => m.rate))),
      unit: "jobs/s",
      note: `median of ${ROUNDS} rounds, range ${range(
        runs.plain.map((m) => m.rate),
        0,
      )}; ${cpu(runs.plain)}`,
    },
    ...picked.map((which) => ratio(SETUP_NAMES[which], which)),
  ];
}
