// The notices benchmark (issue 19): dispatch+finish of 5,000 jobs on 200 simulated agents with no notices
// configured, with one webhook that hears every success (a live receiver in this process answering 200),
// and with one whose endpoint is dead (connection refused, retried), measured over half of them from the
// first success on: each against the plain farm, the target >= 0.9x. NOTICES_JOBS sets the job count.

import { createServer } from "node:http";
import { iniArgs } from "../test/support/farm-kit.js";
import { freePort } from "../test/support/ports.js";
import { dispatchRate, farm, fill, plain } from "./scale.js";
import type { BenchResult } from "./types.js";

const JOBS = Number(process.env.NOTICES_JOBS ?? 5000);

async function rate(ini: string): Promise<number> {
  const f = await farm(ini === "" ? {} : { args: iniArgs(`[main]\n${ini}`) });
  try {
    await fill(f, JOBS, plain());
    return await dispatchRate(f, Math.floor(JOBS / 2));
  } finally {
    await f.stop();
  }
}

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
    `openhq.webhooks.bench.url = ${url}\nopenhq.webhooks.bench.events = succeeded,failed\nopenhq.webhooks.bench.secret = s\nopenhq.notices.pollMs = 100\n`;
  try {
    const plainRate = await rate("");
    const live = await rate(hook(`http://127.0.0.1:${port}/hook`));
    const dead = await rate(hook(`http://127.0.0.1:${deadPort}/hook`));
    const ratio = (name: string, value: number, note: string): BenchResult => {
      const r = value / plainRate;
      return { name, value: +r.toFixed(2), unit: "x", target: ">= 0.9", ok: r >= 0.9, note };
    };
    return [
      {
        name: `dispatch+finish, no notices (${JOBS} jobs, 200 sim agents)`,
        value: Math.round(plainRate),
        unit: "jobs/s",
      },
      ratio(
        "dispatch with a webhook on every success / without",
        live,
        `${Math.round(live)} jobs/s; ${received} deliveries received meanwhile`,
      ),
      ratio("dispatch with a dead webhook endpoint / without", dead, `${Math.round(dead)} jobs/s`),
    ];
  } finally {
    receiver.close();
  }
}
