// The agent process against a minimal protocol peer written here with `ws` (it speaks shared/protocol.ts
// like the coordinator's /agent end: welcome, assign, in-order seq application and acks).
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { WebSocketServer, type WebSocket } from "ws";
import {
  UPGRADE_EXIT_CODE,
  type AgentMessage,
  type AssignMessage,
  type CoordinatorMessage,
  type HelloMessage,
  type JobEventMessage,
} from "../shared/protocol.js";
import { TEST_FARM_SECRET } from "./support/farm-secret.js";
import { startAgent, type TestAgent } from "./support/agent.js";
import { freePort } from "./support/ports.js";
import { PRELUDE, python } from "./support/python.js";
import { assignMessage } from "./support/assign.js";
import { livePids } from "./support/processes.js";

interface AppliedJob {
  lastSeq: number;
  output: Buffer[];
  events: JobEventMessage[];
  finishedCount: number;
}

/** A coordinator stand-in: applies each job's events once and in order, acks, records everything. */
class Peer {
  server!: WebSocketServer;
  socket: WebSocket | null = null;
  hellos: (HelloMessage & { lost?: unknown[] })[] = [];
  messages: AgentMessage[] = [];
  jobs = new Map<string, AppliedJob>();
  stopList: { jobId: number; attempt: number }[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly port: number) {}

  static async start(): Promise<Peer> {
    const peer = new Peer(await freePort());
    await peer.listen();
    return peer;
  }

  async listen(): Promise<void> {
    this.server = new WebSocketServer({
      port: this.port,
      host: "127.0.0.1",
      path: "/agent",
      perMessageDeflate: false,
    });
    await new Promise<void>((r) => this.server.once("listening", () => r()));
    this.server.on("connection", (socket) => {
      this.socket = socket;
      socket.on("message", (data) => this.onMessage(socket, JSON.parse(data.toString()) as AgentMessage));
    });
  }

  /** Cuts the link and stops listening, like a coordinator that died. */
  async down(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((r) => this.server.close(() => r()));
    this.socket = null;
  }

  send(message: CoordinatorMessage): void {
    this.socket?.send(JSON.stringify(message));
  }

  job(jobId: number, attempt = 1): AppliedJob {
    const key = `${jobId}:${attempt}`;
    let job = this.jobs.get(key);
    if (!job) this.jobs.set(key, (job = { lastSeq: 0, output: [], events: [], finishedCount: 0 }));
    return job;
  }

  async until(check: () => boolean, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error("peer: timed out waiting");
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  private onMessage(socket: WebSocket, message: AgentMessage): void {
    this.messages.push(message);
    if (message.type === "hello") {
      this.hellos.push(message);
      const welcome: CoordinatorMessage = {
        type: "welcome",
        clientId: 7,
        heartbeatInterval: 300,
        hqroot: "/mnt/hq",
        serverUrl: `http://127.0.0.1:${this.port}`,
        stop: this.stopList,
      };
      socket.send(JSON.stringify(welcome));
    } else if ("seq" in message) {
      const job = this.job(message.jobId, message.attempt);
      if (message.seq === job.lastSeq + 1) {
        job.lastSeq = message.seq;
        job.events.push(message);
        if (message.type === "output")
          job.output.push(Buffer.from(message.data, message.encoding === "base64" ? "base64" : "utf8"));
        if (message.type === "finished") job.finishedCount++;
      }
      socket.send(
        JSON.stringify({ type: "ack", jobId: message.jobId, attempt: message.attempt, seq: job.lastSeq }),
      );
    }
    for (const wake of this.waiters.splice(0)) wake();
  }
}

function text(job: AppliedJob): string {
  return Buffer.concat(job.output).toString();
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function setup(): Promise<{ peer: Peer; agent: TestAgent }> {
  const peer = await Peer.start();
  const agent = await startAgent({ serverUrl: `http://127.0.0.1:${peer.port}`, name: "t", cpus: 3 });
  cleanups.push(agent.stop, async () => peer.down().catch(() => {}));
  await peer.until(() => peer.hellos.length > 0);
  return { peer, agent };
}

/** Assigns a job whose shell leaves a `sleep 1000` behind it and waits until it runs: the job and its pid. */
async function startSleeper(peer: Peer): Promise<{ job: AssignMessage; pid: number }> {
  const job = assignMessage("sleep 1000 & echo up; wait");
  peer.send(job);
  await peer.until(() => text(peer.job(job.jobId)).includes("up"));
  const started = peer.job(job.jobId).events.find((e) => e.type === "started");
  assert.ok(started?.type === "started");
  return { job, pid: started.pid };
}

describe("agent link", () => {
  it("says hello, beats, and wakeup() (Python xmlrpc.client) beats at once", async () => {
    const { peer, agent } = await setup();
    const hello = peer.hellos[0]!;
    assert.equal(hello.name, "t");
    assert.equal(hello.cpus, 3);
    assert.equal(hello.clientPort, agent.port);
    assert.equal(hello.platform, process.platform === "linux" ? "linux" : hello.platform);
    assert.match(hello.arch, /^(linux|macosx|windows)-/);
    assert.ok(hello.memory > 0 && hello.cpuSpeed >= 0);
    assert.deepEqual(hello.running, []);
    await peer.until(() => peer.messages.filter((m) => m.type === "heartbeat").length >= 2);
    const beat = peer.messages.find((m) => m.type === "heartbeat");
    assert.ok(beat && beat.type === "heartbeat" && beat.available === true && beat.freeMemory > 0);
    // Python calls wakeup(); it answers None and a heartbeat follows.
    const before = peer.messages.filter((m) => m.type === "heartbeat").length;
    const result = await python<{ r: unknown }>(`${PRELUDE}\nout({"r": hq_strict.wakeup()})`, {
      HQSERVER: `http://127.0.0.1:${agent.port}`,
    });
    assert.equal(result.r, null);
    await peer.until(() => peer.messages.filter((m) => m.type === "heartbeat").length > before);
  });

  it("with a farm token, port 5001's terminate answers only callers that send it; wakeup is open", async () => {
    const peer = await Peer.start();
    const agent = await startAgent({
      serverUrl: `http://127.0.0.1:${peer.port}`,
      name: "tok",
      args: ["--token", "s3cret"],
    });
    cleanups.push(agent.stop, async () => peer.down().catch(() => {}));
    await peer.until(() => peer.hellos.length > 0);
    assert.equal(peer.hellos[0]!.token, "s3cret");
    const result = await python<{ without: { faultCode: number } | null; wrong: unknown; right: unknown }>(
      `${PRELUDE}
port = os.environ["AGENT_PORT"]
bad = xmlrpc.client.ServerProxy("http://hq:nope@127.0.0.1:" + port)
good = xmlrpc.client.ServerProxy("http://hq:s3cret@127.0.0.1:" + port, allow_none=True)
out({"wakeup": hq.wakeup(), "without": fault(hq_strict.terminate), "wrong": fault(bad.terminate), "right": good.terminate()})`,
      { HQSERVER: `http://127.0.0.1:${agent.port}`, AGENT_PORT: String(agent.port) },
    );
    assert.equal((result as { wakeup?: unknown }).wakeup, null);
    assert.equal(result.without?.faultCode, 401);
    assert.equal((result.wrong as { faultCode: number } | null)?.faultCode, 401);
    assert.equal(result.right, null);
    assert.equal(await agent.exited, 0);
  });

  it("availability rules from the coordinator are applied and reported", async () => {
    const { peer } = await setup();
    peer.send({ type: "availability", rules: [{ type: "idle", minutes: 100000 }] });
    await peer.until(() => {
      const last = peer.messages.filter((m) => m.type === "heartbeat").at(-1);
      return last?.type === "heartbeat" && last.available === false;
    });
  });

  it("runs an assigned job and streams its output; cancel kills it", async () => {
    const { peer, agent } = await setup();
    const ok = assignMessage("echo hello; echo PROGRESS: 1/2; echo $HQROOT $JOBID");
    peer.send(ok);
    await peer.until(() => peer.job(ok.jobId).finishedCount === 1);
    assert.equal(text(peer.job(ok.jobId)), `hello\nPROGRESS: 1/2\n/mnt/hq ${ok.jobId}\n`);
    assert.ok(peer.job(ok.jobId).events.some((e) => e.type === "progress" && e.progress === 0.5));

    const long = assignMessage("sleep 1000 & sleep 1000 & echo up; wait");
    peer.send(long);
    await peer.until(() => text(peer.job(long.jobId)).includes("up"));
    const started = peer.job(long.jobId).events.find((e) => e.type === "started");
    assert.ok(started?.type === "started");
    peer.send({ type: "cancel", jobId: long.jobId, attempt: 1 });
    await peer.until(() => peer.job(long.jobId).finishedCount === 1);
    assert.deepEqual(livePids(started.pid), []);
    const log = readFileSync(agent.logFile, "utf8");
    assert.match(log, new RegExp(`Running job ${ok.jobId}\\b`));
    assert.match(log, new RegExp(`Finished job ${ok.jobId}\\b`));
    assert.match(log, new RegExp(`Cancelling job ${long.jobId}\\b`));
  });

  it("keeps a job running through a link cut; output arrives complete, finished once", async () => {
    const { peer } = await setup();
    // ~25 MB while the link is down: more than the in-memory spool, so part goes to disk.
    const job = assignMessage("echo begin; sleep 1; seq 1 3500000; sleep 1; echo end");
    peer.send(job);
    await peer.until(() => text(peer.job(job.jobId)).includes("begin"));
    await peer.down();
    await new Promise((r) => setTimeout(r, 3000));
    await peer.listen();
    await peer.until(() => peer.job(job.jobId).finishedCount === 1, 60_000);
    const lines = Array.from({ length: 3_500_000 }, (_, i) => String(i + 1)).join("\n");
    const expected = createHash("sha256").update(`begin\n${lines}\nend\n`).digest("hex");
    assert.equal(
      createHash("sha256")
        .update(Buffer.concat(peer.job(job.jobId).output))
        .digest("hex"),
      expected,
    );
    assert.ok(peer.hellos.length >= 2);
    assert.deepEqual(
      peer.hellos[1]!.running.map((r) => r.jobId),
      [job.jobId],
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(peer.job(job.jobId).finishedCount, 1);
  });

  it("after a SIGKILL, a restarted agent kills the leftover group and reports it", async () => {
    const peer = await Peer.start();
    cleanups.push(async () => peer.down().catch(() => {}));
    const first = await startAgent({ serverUrl: `http://127.0.0.1:${peer.port}` });
    await peer.until(() => peer.hellos.length === 1);
    const { job, pid } = await startSleeper(peer);
    first.process.kill("SIGKILL");
    await first.exited;
    assert.ok(livePids(pid).length > 0, "the job outlived its agent");
    const second = await startAgent({ serverUrl: `http://127.0.0.1:${peer.port}`, stateDir: first.stateDir });
    cleanups.push(async () => {
      await second.stop();
      await first.stop();
    });
    await peer.until(() => peer.hellos.length === 2);
    assert.deepEqual(livePids(pid), []);
    assert.deepEqual(peer.hellos[1]!.running, []);
    assert.deepEqual(peer.hellos[1]!.lost, [{ jobId: job.jobId, attempt: 1, pid }]);
  });

  it("on reconnect, kills the attempts welcome.stop lists", async () => {
    const { peer } = await setup();
    const { job, pid } = await startSleeper(peer);
    await peer.down();
    peer.stopList = [{ jobId: job.jobId, attempt: 1 }];
    await peer.listen();
    await peer.until(() => peer.hellos.length === 2);
    assert.deepEqual(peer.hellos[1]!.running, [{ jobId: job.jobId, attempt: 1, pid }]);
    await peer.until(() => livePids(pid).length === 0);
    await peer.until(() => {
      const beat = peer.messages.filter((m) => m.type === "heartbeat").at(-1);
      return beat?.type === "heartbeat" && beat.running.length === 0;
    });
  });

  it("upgrade: no running jobs, so the agent exits at once with the upgrade exit code", async () => {
    const { peer, agent } = await setup();
    peer.send({ type: "upgrade" });
    assert.equal(await agent.exited, UPGRADE_EXIT_CODE);
  });

  it("SIGTERM kills the agent's jobs and exits 0 without reporting them finished", async () => {
    const { peer, agent } = await setup();
    const { job, pid } = await startSleeper(peer);
    agent.process.kill("SIGTERM");
    assert.equal(await agent.exited, 0);
    assert.deepEqual(livePids(pid), []);
    assert.equal(peer.job(job.jobId).finishedCount, 0);
  });

  it("terminate() (Python) cancels paused jobs, lets running ones finish, says goodbye and exits 0", async () => {
    const { peer, agent } = await setup();
    const paused = assignMessage("echo p; sleep 1000");
    const running = assignMessage("echo r; sleep 1; echo done");
    peer.send(paused);
    peer.send(running);
    await peer.until(
      () => text(peer.job(paused.jobId)).includes("p") && text(peer.job(running.jobId)).includes("r"),
    );
    peer.send({ type: "pause", jobId: paused.jobId, attempt: 1 });
    await peer.until(() => peer.job(paused.jobId).events.some((e) => e.type === "paused"));
    const result = await python<{ r: unknown }>(`${PRELUDE}\nout({"r": hq_strict.terminate()})`, {
      HQSERVER: `http://hq:${TEST_FARM_SECRET}@127.0.0.1:${agent.port}`,
    });
    assert.equal(result.r, null);
    assert.equal(await agent.exited, 0);
    const fp = peer.job(paused.jobId).events.find((e) => e.type === "finished");
    assert.ok(fp?.type === "finished" && fp.reason === "cancelled");
    const fr = peer.job(running.jobId).events.find((e) => e.type === "finished");
    assert.ok(fr?.type === "finished" && fr.reason === "exited" && fr.exitCode === 0);
    assert.match(text(peer.job(running.jobId)), /done\n$/);
    assert.equal(peer.messages.at(-1)?.type, "goodbye");
  });
});
