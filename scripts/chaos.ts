// The chaos run: a real farm on this machine that keeps being broken, then checked.
//   npm run chaos -- --minutes N [--seed S] [--rate TREES_PER_S] [--fsync everysec|always] [--wait-replicas N]
//     [--faults redisFailover,redisWrites] [--gap-ms 2000-8000] [--min-faults N]
// The farm: Redis primary + replica under one Sentinel, 2 coordinators (Sentinel-routed, one key prefix), 4
// agents each behind its own TCP proxy (scripts/chaos-proxy.ts), and a Python xmlrpc.client stream of job
// trees (scripts/chaos-stream.py). Faults, one at a time at random gaps: SIGKILL + restart of an agent, of a
// coordinator, of the Redis primary (Sentinel fails over); SIGSTOP/SIGCONT of an agent for longer than a
// heartbeat; link cuts and delays at a proxy; Redis refusing writes; the spool disk of one agent full (a
// tmpfs, when this runs as root). Afterwards, every job must be finished, no command may have run more
// often than its job was assigned (marks), outputs must be byte-identical to what the attempt printed (a
// prefix for cancelled/abandoned ones), no job process may be left, and the store invariants must hold.
// Prints `faults N, jobs M, lost L, duplicated D, stuck S, renders failed by machine loss R` and exits 1 on
// any violation (R > 0 is one: a render whose tree holds a job abandoned after lost blades).

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import {
  closeSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { redisServerArgs } from "../coordinator/redis/server-args.js";
import { JobStore } from "../coordinator/store/jobs.js";
import { Keys } from "../coordinator/store/keys.js";
import { FINISHED_STATUSES, JOB_STATUSES, UNFINISHED_STATUSES } from "../shared/statuses.js";
import { startAgent, type TestAgent } from "../test/support/agent.js";
import { testLogs } from "../test/support/context.js";
import { startCoordinator, type TestCoordinator } from "../test/support/coordinator.js";
import { iniArgs, py } from "../test/support/farm-kit.js";
import { freePort } from "../test/support/ports.js";
import { checkStoreInvariants } from "../test/support/store-invariants.js";
import { startProxy, type ChaosProxy } from "./chaos-proxy.js";
import { rng } from "../test/support/rng.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const PREFIX = "chaos:";
const MASTER = "farm";
const HEARTBEAT_MS = 1000;
const AGENTS = 4;
const COORDINATORS = 2;

type Fault =
  | "agentKill"
  | "bladeDies"
  | "coordinatorKill"
  | "redisFailover"
  | "agentStop"
  | "linkCut"
  | "linkDelay"
  | "redisWrites"
  | "spoolFull";

interface Options {
  minutes: number;
  seed: number;
  rate: number;
  fsync: string;
  waitReplicas: number;
  /** Longest link cut (ms): 30 s for long runs. */
  maxCutMs: number;
  activeTimeoutMinutes: number;
  /** Only these fault kinds (all when empty): e.g. many failovers in a short run. */
  only: string[];
  /** Pause between faults, ms: [lo, hi). */
  gapMs: [number, number];
  /** Faults to inject at least, however long that takes past --minutes (a loaded machine injects fewer). */
  minFaults: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "2" },
      seed: { type: "string" },
      rate: { type: "string", default: "1" },
      fsync: { type: "string", default: "everysec" },
      "wait-replicas": { type: "string", default: "1" },
      faults: { type: "string", default: "" },
      "gap-ms": { type: "string", default: "2000-8000" },
      "min-faults": { type: "string", default: "0" },
    },
  });
  const minutes = Number(values.minutes);
  if (!(minutes > 0)) throw new Error("--minutes must be a positive number");
  const gap = values["gap-ms"].split("-");
  return {
    minutes,
    seed: Number(values.seed ?? Date.now() % 1_000_000),
    rate: Number(values.rate),
    fsync: values.fsync === "always" ? "always" : "everysec",
    waitReplicas: Number(values["wait-replicas"]),
    maxCutMs: minutes >= 10 ? 30_000 : 8_000,
    activeTimeoutMinutes: 1,
    only: values.faults.split(",").filter(Boolean),
    gapMs: [Number(gap[0]), Number(gap[1] ?? gap[0])],
    minFaults: Number(values["min-faults"]),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) =>
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} chaos: ${line}\n`);

async function until(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** A (re)start that fails for a reason outside the farm (a shared node_modules being reinstalled) is retried. */
async function retried<T>(start: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (err) {
      if (i >= 5) throw err;
      log(`start failed (${(err as Error).message.split("\n")[0]}); again in 3 s`);
      await sleep(3000);
    }
  }
}

function quietRedis(port: number): Redis {
  const r = new Redis({ port, host: "127.0.0.1", lazyConnect: false, maxRetriesPerRequest: 1 });
  r.on("error", () => {});
  return r;
}

interface RedisNode {
  port: number;
  dir: string;
  process: ChildProcess;
}

interface AgentSlot {
  name: string;
  stateDir: string;
  proxy: ChaosProxy;
  agent: TestAgent;
  /** The tmpfs under its spool folder, when one could be mounted. */
  tmpfs: string | null;
}

class Farm {
  readonly dir = mkdtempSync(join(tmpdir(), "openhq-chaos-"));
  readonly marks = join(this.dir, "marks");
  /** The job log folder both coordinators share (a folder of an earlier run belongs to its Redis). */
  readonly jobLogs = join(this.dir, "job_logs");
  readonly redisNodes: RedisNode[] = [];
  sentinelPort = 0;
  private sentinel: ChildProcess | null = null;
  readonly coordinators: TestCoordinator[] = [];
  readonly agents: AgentSlot[] = [];
  private coordinatorPorts: number[] = [];
  private ini: string[] = [];

  constructor(readonly opts: Options) {
    mkdirSync(this.marks);
  }

  async start(): Promise<void> {
    const primary = await this.startRedis(await freePort(), null);
    await this.startRedis(await freePort(), primary.port);
    this.sentinelPort = await freePort();
    const conf = join(this.dir, "sentinel.conf");
    writeFileSync(
      conf,
      [
        `port ${this.sentinelPort}`,
        "bind 127.0.0.1",
        `dir ${this.dir}`,
        `sentinel monitor ${MASTER} 127.0.0.1 ${primary.port} 1`,
        // Not less: a primary just promoted on this loaded box can take over a second to answer Sentinel's
        // first PING, and with 1 s Sentinel declared it down and failed over again at once, to the killed
        // primary just restarted with its stale data (the farm lost writes; the harness waited for a replica
        // that was now the primary).
        `sentinel down-after-milliseconds ${MASTER} 5000`,
        `sentinel failover-timeout ${MASTER} 5000`,
        "",
      ].join("\n"),
    );
    this.sentinel = this.logged("sentinel", [conf, "--sentinel"]);
    await until("sentinel", async () => (await this.primaryPort()) === primary.port, 20_000);
    // A failover before the replica's first sync (Redis delays it 5 s) promoted an empty replica: the farm
    // lost everything written so far.
    await this.replicated(primary.port);
    this.ini = iniArgs(`[main]\nhqserver.activeTimeout = ${this.opts.activeTimeoutMinutes}\n`);
    for (let i = 0; i < COORDINATORS; i++) {
      this.coordinatorPorts.push(await freePort());
      this.coordinators.push(await this.startCoordinator(i));
    }
    for (let i = 0; i < AGENTS; i++) {
      const name = `chaos${i}`;
      const stateDir = join(this.dir, name);
      mkdirSync(join(stateDir, "spool"), { recursive: true });
      let tmpfs: string | null = null;
      if (i === AGENTS - 1) {
        try {
          const spool = join(stateDir, "spool");
          execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", spool], { stdio: "ignore" });
          tmpfs = spool;
        } catch {
          log("cannot mount a tmpfs (not root?): no spoolFull faults");
        }
      }
      const proxy = await startProxy(this.coordinatorPorts[i % COORDINATORS] as number);
      const agent = await this.startAgent(name, stateDir, proxy);
      this.agents.push({ name, stateDir, proxy, agent, tmpfs });
    }
  }

  /** Each Redis and Sentinel logs to <run folder>/<name>.log (appended across restarts), to diagnose a failed run. */
  private logged(name: string, args: string[]): ChildProcess {
    const fd = openSync(join(this.dir, `${name}.log`), "a");
    try {
      return spawn("redis-server", args, { stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
  }

  async startRedis(port: number, replicaOf: number | null): Promise<RedisNode> {
    const dir = join(this.dir, `redis-${port}`);
    mkdirSync(dir, { recursive: true });
    const args = redisServerArgs({ port, dir, appendfsync: this.opts.fsync, replicaOf });
    const node: RedisNode = { port, dir, process: this.logged(`redis-${port}`, args) };
    const i = this.redisNodes.findIndex((n) => n.port === port);
    if (i >= 0) this.redisNodes[i] = node;
    else this.redisNodes.push(node);
    const probe = quietRedis(port);
    try {
      await until(`redis ${port}`, async () => (await probe.ping()) === "PONG", 20_000);
    } finally {
      probe.disconnect();
    }
    return node;
  }

  /**
   * Waits until Sentinel's primary has a replica online. Follows Sentinel: should it fail over again on its
   * own meanwhile (it may, on a loaded machine), that is logged and the new primary waited for.
   */
  async replicated(expected: number): Promise<void> {
    let primary = expected;
    await until(
      "the replica to sync",
      async () => {
        const now = await this.primaryPort();
        if (now !== primary) {
          log(`Sentinel failed over on its own: the primary is now ${now}, not ${primary}`);
          primary = now;
        }
        const p = quietRedis(now);
        try {
          return /slave0:.*state=online/.test(await p.info("replication"));
        } finally {
          p.disconnect();
        }
      },
      60_000,
    );
  }

  async primaryPort(): Promise<number> {
    const s = quietRedis(this.sentinelPort);
    try {
      const reply = (await s.call("SENTINEL", "get-master-addr-by-name", MASTER)) as string[] | null;
      return Number(reply?.[1] ?? 0);
    } finally {
      s.disconnect();
    }
  }

  /** A connection that follows the primary through Sentinel. */
  sentinelClient(): Redis {
    const r = new Redis({
      sentinels: [{ host: "127.0.0.1", port: this.sentinelPort }],
      name: MASTER,
      maxRetriesPerRequest: 50,
    });
    r.on("error", () => {});
    return r;
  }

  async startCoordinator(i: number): Promise<TestCoordinator> {
    const c = await retried(() => this.spawnCoordinator(i));
    // Its output so far is in c.output(); from now on it goes to coordinator-<i>.log too.
    const file = createWriteStream(join(this.dir, `coordinator-${i}.log`), { flags: "a" });
    file.write(c.output());
    c.process.stdout?.pipe(file);
    c.process.stderr?.pipe(file);
    return c;
  }

  private spawnCoordinator(i: number): Promise<TestCoordinator> {
    return startCoordinator({
      redisUrl: "redis://127.0.0.1:1",
      port: this.coordinatorPorts[i] as number,
      args: ["--prefix", PREFIX, ...this.ini],
      env: {
        OPENHQ_REDIS_SENTINELS: `127.0.0.1:${this.sentinelPort}`,
        OPENHQ_REDIS_NAME: MASTER,
        OPENHQ_HEARTBEAT_INTERVAL: String(HEARTBEAT_MS),
        OPENHQ_REDIS_WAIT_REPLICAS: String(this.opts.waitReplicas),
        OPENHQ_JOB_LOGS_DIR: this.jobLogs,
      },
    });
  }

  startAgent(name: string, stateDir: string, proxy: ChaosProxy): Promise<TestAgent> {
    return retried(() => startAgent({ serverUrl: proxy.url, name, cpus: 2, stateDir }));
  }

  urls(): string[] {
    return this.coordinatorPorts.map((p) => `http://127.0.0.1:${p}`);
  }

  /** keep: leave the run folder (logs, Redis files, marks) for a diagnosis. */
  async stop(keep: boolean): Promise<void> {
    await Promise.all(this.agents.map((a) => a.agent.stop().catch(() => {})));
    for (const a of this.agents) {
      await a.proxy.close();
      if (a.tmpfs !== null) execFileSync("umount", ["-l", a.tmpfs], { stdio: "ignore" });
    }
    await Promise.all(this.coordinators.map((c) => c.stop().catch(() => {})));
    this.sentinel?.kill("SIGKILL");
    for (const n of this.redisNodes) n.process.kill("SIGKILL");
    await sleep(200);
    if (keep) log(`run folder kept: ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Injects one fault and waits until the farm has what it needs back; counts both. */
class Faults {
  readonly injected = new Map<Fault, number>();
  readonly survived = new Map<Fault, number>();
  private readonly random: () => number;

  constructor(
    private readonly farm: Farm,
    seed: number,
  ) {
    this.random = rng(seed + 7);
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)] as T;
  }

  private between(lo: number, hi: number): number {
    return Math.round(lo + this.random() * (hi - lo));
  }

  kinds(): Fault[] {
    const all: Fault[] = [
      "agentKill",
      "bladeDies",
      "coordinatorKill",
      "redisFailover",
      "agentStop",
      "linkCut",
      "linkDelay",
      "redisWrites",
    ];
    if (this.farm.agents.some((a) => a.tmpfs !== null)) all.push("spoolFull");
    const only = this.farm.opts.only;
    return only.length === 0 ? all : all.filter((k) => only.includes(k));
  }

  async inject(kind: Fault): Promise<void> {
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
    await this[kind]();
    this.survived.set(kind, (this.survived.get(kind) ?? 0) + 1);
  }

  private async agentKill(): Promise<void> {
    const slot = this.pick(this.farm.agents);
    log(`SIGKILL agent ${slot.name}`);
    slot.agent.process.kill("SIGKILL");
    await slot.agent.exited;
    await sleep(this.between(500, 5000));
    slot.agent = await this.farm.startAgent(slot.name, slot.stateDir, slot.proxy);
  }

  /**
   * Blade dies mid-render: SIGKILL of an agent while it runs frames, back only after 8-15 s, so its frames
   * must go back to the queue through crash detection (not the restarted agent's report) and cost no render.
   */
  private async bladeDies(): Promise<void> {
    let busy: AgentSlot[] = [];
    const deadline = Date.now() + 60_000;
    while (busy.length === 0 && Date.now() < deadline) {
      const labels = await py<string[]>(
        this.farm.urls()[0] as string,
        `out([c["label"] for c in hq.getClients(None, ["label", "runningJobs"]) if c["runningJobs"]])`,
      ).catch(() => []);
      busy = this.farm.agents.filter((a) => labels.some((l) => l.endsWith(`:${a.name}`)));
      if (busy.length === 0) await sleep(500);
    }
    // An idle farm for a minute: any agent dies then.
    if (busy.length === 0) busy = this.farm.agents;
    const slot = this.pick(busy);
    log(`blade dies mid-render: SIGKILL agent ${slot.name}`);
    slot.agent.process.kill("SIGKILL");
    await slot.agent.exited;
    await sleep(this.between(8000, 15000));
    slot.agent = await this.farm.startAgent(slot.name, slot.stateDir, slot.proxy);
  }

  private async coordinatorKill(): Promise<void> {
    const i = Math.floor(this.random() * this.farm.coordinators.length);
    log(`SIGKILL coordinator ${i}`);
    const c = this.farm.coordinators[i] as TestCoordinator;
    c.process.kill("SIGKILL");
    await new Promise((r) =>
      c.process.exitCode !== null || c.process.signalCode !== null ? r(0) : c.process.once("exit", r),
    );
    await sleep(this.between(500, 4000));
    this.farm.coordinators[i] = await this.farm.startCoordinator(i);
  }

  private async redisFailover(): Promise<void> {
    const old = await this.farm.primaryPort();
    const node = this.farm.redisNodes.find((n) => n.port === old);
    if (node === undefined) throw new Error(`primary ${old} is not one of ours`);
    log(`SIGKILL Redis primary ${old}`);
    node.process.kill("SIGKILL");
    await until(
      "Sentinel to promote the replica",
      async () => {
        const now = await this.farm.primaryPort();
        return now !== 0 && now !== old;
      },
      30_000,
    );
    const primary = await this.farm.primaryPort();
    log(`Sentinel promoted ${primary}; ${old} comes back as its replica`);
    await this.farm.startRedis(old, primary);
    await this.farm.replicated(primary);
  }

  private async agentStop(): Promise<void> {
    const slot = this.pick(this.farm.agents);
    const ms = this.between(3 * HEARTBEAT_MS, 8 * HEARTBEAT_MS);
    log(`SIGSTOP agent ${slot.name} for ${ms} ms`);
    slot.agent.process.kill("SIGSTOP");
    await sleep(ms);
    slot.agent.process.kill("SIGCONT");
  }

  private async linkCut(): Promise<void> {
    const slot = this.pick(this.farm.agents);
    const ms = this.between(1000, this.farm.opts.maxCutMs);
    log(`cut the link of ${slot.name} for ${ms} ms`);
    slot.proxy.cut(ms);
    await sleep(ms);
  }

  private async linkDelay(): Promise<void> {
    const slot = this.pick(this.farm.agents);
    const delay = this.between(50, 800);
    const ms = this.between(3000, 12_000);
    log(`delay the link of ${slot.name} by ${delay} ms for ${ms} ms`);
    slot.proxy.delay(delay);
    await sleep(ms);
    slot.proxy.delay(0);
  }

  private async redisWrites(): Promise<void> {
    const primary = await this.farm.primaryPort();
    const ms = this.between(1500, 4000);
    log(`Redis ${primary} refuses writes for ${ms} ms`);
    const r = quietRedis(primary);
    try {
      await r.config("SET", "maxmemory", "1");
      await sleep(ms);
      await r.config("SET", "maxmemory", "0");
    } finally {
      r.disconnect();
    }
  }

  private async spoolFull(): Promise<void> {
    const slot = this.farm.agents.find((a) => a.tmpfs !== null) as AgentSlot;
    const filler = join(slot.tmpfs as string, "filler");
    const ms = this.between(2000, 8000);
    log(`fill the spool disk of ${slot.name} and cut its link for ${ms} ms`);
    try {
      writeFileSync(filler, Buffer.alloc(4 << 20));
    } catch {
      // ENOSPC: the tmpfs is full, which is the point
    }
    slot.proxy.cut(ms);
    await sleep(ms);
    rmSync(filler, { force: true });
  }
}

interface JobReport {
  id: number;
  /** rootJobId: the render the job belongs to */
  root: number;
  status: string;
  attempt: number;
  name: string;
  len: number;
  exact: boolean;
  prefix: boolean;
}

/** Per job: status, attempt, and whether its output is exactly / a prefix of what its name says it prints. */
const REPORT_PY = `
import re
ids = json.loads(sys.stdin.read())
res = []
for i in range(0, len(ids), 200):
    for j in hq.getJobs(ids[i:i+200], ["id", "status", "name", "attempt", "rootJobId"]):
        m = re.match(r"chaos L=(\\d+) W=(\\d+) S=\\S+ F=\\d", j["name"] or "")
        o = hq.getJobOutput(j["id"]) or ""
        if m:
            pad = "x" * int(m.group(2))
            want = "".join("%d:%d:%s\\n" % (j["id"], k, pad) for k in range(1, int(m.group(1)) + 1))
        else:
            want = None
        res.append({"id": j["id"], "status": j["status"], "attempt": j.get("attempt") or 0, "name": j["name"],
                    "root": j["rootJobId"],
                    "len": len(o), "exact": want is not None and o == want,
                    "prefix": want is not None and want.startswith(o)})
out(res)
`;

async function main(): Promise<number> {
  const opts = options();
  log(
    `seed ${opts.seed}, ${opts.minutes} min of faults, appendfsync ${opts.fsync}, waitReplicas ${opts.waitReplicas}`,
  );
  const farm = new Farm(opts);
  let stream: ChildProcess | null = null;
  let ok = false;
  try {
    await farm.start();
    log(`farm up in ${farm.dir}`);
    const submitted = new Set<number>();
    stream = spawn(
      "python3",
      [
        join(HERE, "chaos-stream.py"),
        farm.urls().join(","),
        farm.marks,
        String(opts.seed),
        String(opts.rate),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const streamDone = new Promise((r) => stream?.once("exit", r));
    createInterface({ input: stream.stdout! }).on("line", (line) => {
      const msg = JSON.parse(line) as { submitted?: number[] };
      for (const id of msg.submitted ?? []) submitted.add(id);
    });

    const faults = new Faults(farm, opts.seed);
    const random = rng(opts.seed + 11);
    const end = Date.now() + opts.minutes * 60_000;
    // Every kind once per round, in a shuffled order: a short run sees them all.
    const bag: Fault[] = [];
    const more = () =>
      Date.now() < end || [...faults.injected.values()].reduce((a, b) => a + b, 0) < opts.minFaults;
    while (more()) {
      const [lo, hi] = opts.gapMs;
      await sleep(lo + random() * (hi - lo));
      if (!more()) break;
      if (bag.length === 0) bag.push(...faults.kinds().sort(() => random() - 0.5));
      await faults.inject(bag.pop() as Fault);
    }
    log("faults over; stopping the stream and draining");
    stream.kill("SIGTERM");
    await streamDone;

    const redis = farm.sentinelClient();
    const keys = new Keys(PREFIX);
    // The coordinators sweep the farm's log folder; this store only reads job states.
    const logs = await testLogs(redis, keys, { dir: farm.jobLogs, sweep: false });
    const store = new JobStore({ redis, keys, settings: { maxOutputBytes: 16 << 20 }, logs });
    const drainMs = opts.activeTimeoutMinutes * 60_000 + 90_000;
    const drainEnd = Date.now() + drainMs;
    let unfinished = await store.idsByStatus(UNFINISHED_STATUSES);
    while (unfinished.length > 0 && Date.now() < drainEnd) {
      await sleep(2000);
      unfinished = await store.idsByStatus(UNFINISHED_STATUSES);
    }
    // Processes of cancelled attempts get SIGTERM, a grace and SIGKILL: give them that long.
    await sleep(3000);
    const violations: string[] = [];
    const all = (await store.idsByStatus(JOB_STATUSES)).sort((a, b) => a - b);
    const reports = await py<JobReport[]>(
      farm.urls()[0] as string,
      REPORT_PY.replace("json.loads(sys.stdin.read())", JSON.stringify(all)),
      600_000,
    );
    const marks = new Map<number, number>();
    for (const f of readdirSync(farm.marks))
      marks.set(Number(f), readFileSync(join(farm.marks, f), "utf8").split("\n").filter(Boolean).length);
    let lost = 0;
    let duplicated = 0;
    const present = new Set(all);
    for (const id of submitted)
      if (!present.has(id)) {
        lost++;
        violations.push(`job ${id} was submitted but is not in the store`);
      }
    const statuses = new Map<string, number>();
    for (const r of reports) {
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      const ran = marks.get(r.id) ?? 0;
      if (ran > r.attempt) {
        duplicated++;
        violations.push(`job ${r.id} ran ${ran} times in ${r.attempt} attempts`);
      }
      if (!(FINISHED_STATUSES as readonly string[]).includes(r.status)) continue;
      const complete = r.status === "succeeded" || r.status === "failed";
      if (r.status === "succeeded" && ran === 0) {
        lost++;
        violations.push(`job ${r.id} succeeded without running`);
      } else if (complete && ran > 0 && !r.exact) {
        if (r.prefix) lost++;
        else duplicated++;
        violations.push(
          `job ${r.id} (${r.status}, ${r.name}): output of ${r.len} bytes is not what it printed`,
        );
      } else if (!complete && !r.prefix) {
        duplicated++;
        violations.push(
          `job ${r.id} (${r.status}): output of ${r.len} bytes is not a prefix of what it prints`,
        );
      }
    }
    const clientIds = (await redis.hvals(keys.clientsByLabel)).map(Number);
    // A stuck job says why it waits, and the blades what state they are in: enough to tell a lost wakeup
    // from a farm with no blade left to run it (every blade quarantined, say) without the kept Redis.
    for (const id of unfinished) {
      const [status, waitingFor] = await redis.hmget(keys.job(id), "status", "waitingFor");
      violations.push(`job ${id} is stuck: ${status ?? "?"}, ${waitingFor ?? "no waiting reason"}`);
    }
    if (unfinished.length > 0)
      for (const cid of clientIds) {
        const c = await redis.hmget(
          keys.client(cid),
          "label",
          "connected",
          "disabled",
          "quarantinedUntil",
          "probation",
        );
        const until = Number(c[3] ?? 0);
        log(
          `client ${cid} ${c[0] ?? "?"}: connected ${c[1] ?? "?"}, disabled ${c[2] ?? "0"}, ` +
            (until > Date.now()
              ? `quarantined ${Math.round((until - Date.now()) / 1000)} s more`
              : "not quarantined") +
            (c[4] === "1" ? ", on probation" : ""),
        );
      }
    // Only moveToLost abandons a job (openhq.maxLostAttempts): a render holding one failed by machine loss.
    const lossFailed = new Set(reports.filter((r) => r.status === "abandoned").map((r) => r.root));
    for (const root of lossFailed) violations.push(`render ${root} failed by machine loss`);
    let leftover = "";
    try {
      leftover = execFileSync("pgrep", ["-af", farm.marks], { encoding: "utf8" }).trim();
    } catch {
      // pgrep exits 1 when nothing matches
    }
    if (leftover !== "") violations.push(`processes left behind:\n${leftover}`);
    try {
      await checkStoreInvariants(store, redis, keys, all, clientIds, "after the chaos run");
    } catch (err) {
      violations.push(`store invariant: ${(err as Error).message.split("\n")[0]}`);
    }
    redis.disconnect();

    const totalFaults = [...faults.injected.values()].reduce((a, b) => a + b, 0);
    const perFault = [...faults.injected]
      .map(([k, v]) => `${k} ${faults.survived.get(k) ?? 0}/${v}`)
      .join(", ");
    for (const v of violations.slice(0, 50)) log(`VIOLATION ${v}`);
    for (const r of reports.filter((j) => j.status === "failed" || j.status === "abandoned").slice(0, 10))
      log(`${r.status}: job ${r.id} "${r.name}" after ${r.attempt} attempt(s), ran ${marks.get(r.id) ?? 0}`);
    log(`statuses: ${[...statuses].map(([k, v]) => `${k} ${v}`).join(", ")}`);
    log(`faults survived/injected: ${perFault}`);
    console.log(
      `faults ${totalFaults}, jobs ${all.length}, lost ${lost}, duplicated ${duplicated}, stuck ${unfinished.length}, renders failed by machine loss ${lossFailed.size}`,
    );
    ok = violations.length === 0;
    return ok ? 0 : 1;
  } finally {
    if (stream !== null && stream.exitCode === null) stream.kill("SIGKILL");
    await farm.stop(!ok);
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    log(`failed: ${err.stack ?? err.message}`);
    process.exit(2);
  },
);
