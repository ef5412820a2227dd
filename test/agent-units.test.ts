// Agent pieces without processes: configuration, availability rules, progress lines, output chunks.
import { strict as assert } from "node:assert";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { clientArch } from "../agent/agent.js";
import { isAvailable } from "../agent/availability.js";
import { Chunker, type Chunk } from "../agent/chunker.js";
import { loadConfig } from "../agent/config.js";
import { ProgressParser } from "../agent/progress.js";
import { shellCommand } from "../agent/shell.js";
import { Spool } from "../agent/spool.js";
import { GET_LAST_INPUT_SCRIPT } from "../agent/idle/windows.js";
import { RepeatingProbe } from "../agent/repeating-probe.js";
import { eventually } from "./support/eventually.js";

describe("agent config", () => {
  it("reads hqnode.ini, then env, then flags", () => {
    const dir = mkdtempSync(join(tmpdir(), "openhq-ini-"));
    const ini = join(dir, "hqnode.ini");
    writeFileSync(
      ini,
      "[main]\nserver = farm\nport = 5050\nname = gpu\ncpus = 4\nsharedNetwork.mount = /mnt/hq\n\n[job_environment]\nOCIO = %(here)s/ocio.cfg\nFOO = bar\n",
    );
    const config = loadConfig(["--config", ini, "--cpus=2"], { OPENHQ_AGENT_NAME: "cpu" }, 16);
    assert.equal(config.server, "farm");
    assert.equal(config.serverPort, 5050);
    assert.equal(config.name, "cpu");
    assert.equal(config.cpus, 2);
    assert.equal(config.sharedNetworkMount, "/mnt/hq");
    assert.deepEqual(config.jobEnvironment, { OCIO: `${dir}/ocio.cfg`, FOO: "bar" });
    assert.equal(config.heartbeatIntervalMs, 5000);
    assert.equal(config.killGraceMs, 10_000);
    rmSync(dir, { recursive: true });
  });

  it("takes a server URL and rejects unknown flags and bad numbers", () => {
    const config = loadConfig(["--server", "http://10.0.0.5:6000", "--port", "6001"], {}, 1);
    assert.equal(config.server, "10.0.0.5");
    assert.equal(config.serverPort, 6000);
    assert.equal(config.port, 6001);
    assert.throws(() => loadConfig(["--nope", "1"], {}, 1), /unknown option --nope/);
    assert.throws(() => loadConfig(["--cpus", "many"], {}, 1), /cpus must be a positive integer/);
  });
});

describe("availability rules", () => {
  // 2026-11-27 is a Friday (day 5).
  const at = (day: number, hh: number, mm = 0): Date => new Date(2026, 10, 22 + day, hh, mm);
  it("no rules means always; any true rule means available", () => {
    assert.equal(isAvailable([], at(5, 12), -1), true);
    assert.equal(isAvailable([{ type: "idle", minutes: 30 }, { type: "anytime" }], at(5, 12), 0), true);
  });
  it("windows with days, wrapping past midnight onto the next day", () => {
    const night = [{ type: "window" as const, days: [5], start: "22:00", end: "06:00" }];
    assert.equal(isAvailable(night, at(5, 23), -1), true);
    assert.equal(isAvailable(night, at(6, 3), -1), true); // Saturday morning belongs to Friday's window
    assert.equal(isAvailable(night, at(5, 3), -1), false); // Friday morning belongs to Thursday's
    assert.equal(isAvailable(night, at(5, 12), -1), false);
    const office = [{ type: "window" as const, start: "09:00", end: "17:30" }];
    assert.equal(isAvailable(office, at(3, 17, 29), -1), true);
    assert.equal(isAvailable(office, at(3, 17, 30), -1), false);
  });
  it("minimum idle minutes; unknown idle time never qualifies", () => {
    const idle = [{ type: "idle" as const, minutes: 15 }];
    assert.equal(isAvailable(idle, at(1, 1), 15), true);
    assert.equal(isAvailable(idle, at(1, 1), 14), false);
    assert.equal(isAvailable(idle, at(1, 1), -1), false);
  });
});

describe("progress lines", () => {
  it("parses PROGRESS: a/b and ALF_PROGRESS n% across pieces", () => {
    const p = new ProgressParser();
    assert.equal(p.feed(Buffer.from("noise\nPROGR")), null);
    assert.equal(p.feed(Buffer.from("ESS: 3/12\nmore")), 0.25);
    assert.equal(p.feed(Buffer.from("\nALF_PROGRESS 40%\n")), 0.4);
    assert.equal(p.feed(Buffer.from("ALF_PROGRESS 40%\n")), null); // unchanged
    assert.equal(p.feed(Buffer.from("PROGRESS: 5/5")), null);
    assert.equal(p.end(), 1);
  });
});

describe("output chunks", () => {
  it("cuts at 64 KB without splitting UTF-8, and sends non-UTF-8 as base64", () => {
    const chunks: Chunk[] = [];
    const c = new Chunker((chunk) => chunks.push(chunk));
    const text = Buffer.from("é".repeat(40_000)); // 80 000 bytes of two-byte characters
    c.write(text.subarray(0, 65_535));
    c.write(text.subarray(65_535));
    c.flush(true);
    assert.equal(chunks.length, 2);
    assert.equal(chunks.map((x) => x.data).join(""), "é".repeat(40_000));
    assert.ok(chunks.every((x) => x.encoding === undefined && x.bytes <= 65_536));
    const raw: Chunk[] = [];
    const b = new Chunker((chunk) => raw.push(chunk));
    b.write(Buffer.from([0xff, 0x00, 0x41]));
    b.flush(true);
    assert.deepEqual(raw, [
      { data: Buffer.from([0xff, 0x00, 0x41]).toString("base64"), encoding: "base64", bytes: 3 },
    ]);
  });
});

describe("shells and platform names", () => {
  it("picks the shell per platform and names the arch like HQCLIENTARCH", () => {
    assert.deepEqual(shellCommand(null, "x", "linux"), {
      ok: true,
      command: { file: "bash", args: ["-c", "x"] },
    });
    assert.deepEqual(shellCommand("cmd", "x", "win32"), {
      ok: true,
      command: { file: "cmd.exe", args: ["/d", "/s", "/c", "x"] },
    });
    assert.equal(shellCommand("cmd", "x", "linux").ok, false);
    assert.equal(shellCommand("/bin/tcsh", "x", "linux").ok, true);
    assert.equal(clientArch("linux", "x64"), "linux-x86_64");
    assert.equal(clientArch("darwin", "arm64"), "macosx-arm64");
    assert.equal(clientArch("win32", "x64"), "windows-x86_64");
  });
});

describe("spool", () => {
  it("spills to disk while the link is down, resends in order, removes the file once acked", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openhq-spool-"));
    let open = false;
    const sent: number[] = [];
    const spool = new Spool(
      9,
      2,
      dir,
      {
        isOpen: () => open,
        send: async (text) => {
          sent.push((JSON.parse(text) as { seq: number }).seq);
        },
      },
      { memoryBytes: 1000, diskBytes: 5000 },
    );
    const push = (): number => spool.push({ type: "output", jobId: 9, attempt: 2, data: "x".repeat(100) });
    for (let i = 0; i < 30; i++) push();
    assert.deepEqual(sent, []);
    assert.ok(existsSync(join(dir, "9-2.spool")));
    assert.equal(spool.full(), false);
    for (let i = 0; i < 30; i++) push();
    assert.equal(spool.full(), true); // 60 events of ~150 bytes > 5000: the job must stop reading output
    open = true;
    spool.ack(10);
    await spool.resend();
    assert.deepEqual(
      sent,
      Array.from({ length: 50 }, (_, i) => i + 11),
    );
    push(); // live again: sent at once
    assert.equal(sent.at(-1), 61);
    spool.ack(61);
    assert.equal(spool.settled(), true);
    assert.equal(existsSync(join(dir, "9-2.spool")), false);
    rmSync(dir, { recursive: true });
  });
});

describe("RepeatingProbe", () => {
  it("runs again after each run ends, and starts no run after stop(), even one called mid-run", async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const probe = new RepeatingProbe(0, async () => {
      runs++;
      if (runs === 3) await new Promise<void>((r) => (release = r));
    });
    probe.start();
    await eventually("a third run", () => runs === 3);
    probe.stop();
    release();
    // A run it had scheduled would be a 0 ms timer, which fires before this later, longer one.
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(runs, 3);
  });
});

describe("Windows idle probe", () => {
  it("the agent's GetLastInputInfo block and deploy/idle-helper.ps1's are the same code", () => {
    // The helper runs alone in the user's session (Task Scheduler), the agent's copy when no helper writes
    // idle.txt: two files that must measure the same way.
    const block = (text: string): string => /Add-Type @'\n[\s\S]*?\n'@\n/.exec(text)?.[0] ?? "(none)";
    const helper = readFileSync(join(process.cwd(), "deploy", "idle-helper.ps1"), "utf8");
    assert.equal(block(helper), block(GET_LAST_INPUT_SCRIPT));
  });
});
