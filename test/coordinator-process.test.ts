// The coordinator as a process: HTTP routing on one port, the error log APIs, SIGTERM, and the embedded
// mode (no --redis: a private, supervised redis-server under --data that survives being killed).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { once } from "node:events";
import { connect } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import { errorRecorder } from "../coordinator/store/errors.js";
import { Keys } from "../coordinator/store/keys.js";
import { startCoordinator } from "./support/coordinator.js";
import { useCoordinator } from "./support/coordinator-fixture.js";
import { PRELUDE, python } from "./support/python.js";
import { alive } from "./support/processes.js";

/** Every server call of the published reference (the client calls wakeup/terminate live on the agent). */
const REFERENCE_METHODS = [
  "addClientToGroup",
  "addNote",
  "cancelJobs",
  "createClientGroup",
  "deleteClientGroup",
  "deleteJobs",
  "ejectJobs",
  "getAllJobStatusNames",
  "getClient",
  "getClientByHostname",
  "getClientByName",
  "getClientErrors",
  "getClientGroup",
  "getClientGroupByName",
  "getClientGroups",
  "getClients",
  "getClientsByHostname",
  "getClientsByName",
  "getConfig",
  "getFailedJobStatusNames",
  "getFinishedJobStatusNames",
  "getFinishedRootJobIds",
  "getHQRoot",
  "getJob",
  "getJobHistory",
  "getJobIdsAssignedToClient",
  "getJobIdsBySatus",
  "getJobOutput",
  "getJobs",
  "getLatestNotes",
  "getNoteThreadIds",
  "getNoteThreads",
  "getNumWaitingJobs",
  "getPausedJobStatusNames",
  "getPermittedClientsList",
  "getPriorityChangedEventNames",
  "getRescheduledEventNames",
  "getResources",
  "getResumedEventNames",
  "getRunningJobStatusNames",
  "getServerErrors",
  "getServerTime",
  "getStartedJobEventNames",
  "getSucceededStatusNames",
  "getUnfinishedJobStatusNames",
  "getUnfinishedRootJobIds",
  "getVersion",
  "getWaitingJobStatusNames",
  "newjob",
  "pauseJobs",
  "ping",
  "removeClientFromGroup",
  "removeNotes",
  "removeSingleNote",
  "removeSingleThread",
  "removeThreads",
  "rescheduleJobs",
  "resumeJobs",
  "runcmd",
  "savePermittedClientsList",
  "setShowBlockedClientsWarning",
  "setdisabled",
  "threadExists",
  "upgradeClients",
  "getJobIdsByStatus",
];

const py = <T>(url: string, code: string) => python<T>(PRELUDE + code, { HQSERVER: url });

describe("with an external Redis", () => {
  const farm = useCoordinator();

  test("XML-RPC on POST to any path, the dashboard on GET, 405 otherwise", async () => {
    const call = (path: string) =>
      fetch(farm.url + path, {
        method: "POST",
        body: "<?xml version='1.0'?><methodCall><methodName>ping</methodName></methodCall>",
      }).then((r) => r.text());
    assert.match(await call("/"), /<boolean>1<\/boolean>/);
    assert.match(await call("/RPC2"), /<boolean>1<\/boolean>/);
    const page = await fetch(farm.url + "/");
    await page.arrayBuffer();
    assert.notEqual(page.status, 405);
    const put = await fetch(farm.url + "/", { method: "PUT", body: "x" });
    await put.arrayBuffer();
    assert.equal(put.status, 405);
  });

  test("system.listMethods lists the notes, groups, config, errors and resources calls", async () => {
    const names = await py<string[]>(farm.url, `out(hq.system.listMethods())`);
    for (const name of [
      "addNote",
      "getNoteThreads",
      "createClientGroup",
      "getClientGroupByName",
      "getConfig",
      "getHQRoot",
      "getServerTime",
      "getServerErrors",
      "getClientErrors",
      "getResources",
      "addResource",
      "ping",
    ]) {
      assert.ok(names.includes(name), name);
    }
  });

  test("the composed API serves every call of the published reference", async () => {
    const names = await py<string[]>(farm.url, `out(hq.system.listMethods())`);
    assert.deepEqual(
      REFERENCE_METHODS.filter((name) => !names.includes(name)),
      [],
    );
  });

  test("getServerErrors / getClientErrors: {} when empty, {total, errors} newest first", async () => {
    const keys = farm.keys;
    const empty = await py<unknown[]>(farm.url, `out([hq.getServerErrors(), hq_strict.getServerErrors()])`);
    assert.deepEqual(empty, [{}, {}]);
    const record = errorRecorder(farm.redis, keys);
    await record({ message: "first", time: Date.UTC(2026, 0, 2, 3, 4, 5), method: "newjob" });
    await record({ message: "second", time: Date.UTC(2026, 0, 2, 3, 4, 6) });
    await farm.redis.hset(keys.client(5), { hostname: "n5", name: "" });
    await farm.redis.zadd(keys.clients, 5, "5");
    await farm.redis.lpush(keys.clientErrors(5), JSON.stringify({ message: "disk full", time: 0 }));
    const r = await py<[Record<string, unknown>, Record<string, unknown>, unknown, { faultString: string }]>(
      farm.url,
      `out([hq.getServerErrors(), hq.getClientErrors(5), hq.getClientErrors("5") == hq.getClientErrors(5),
            fault(hq.getClientErrors, 999)])`,
    );
    assert.deepEqual(r[0], {
      total: 2,
      errors: [
        { message: "second", time: { dateTime: "20260102T03:04:06" } },
        { message: "first", time: { dateTime: "20260102T03:04:05" }, method: "newjob" },
      ],
    });
    assert.deepEqual(r[1], {
      total: 1,
      errors: [{ message: "disk full", time: { dateTime: "19700101T00:00:00" } }],
    });
    assert.equal(r[2], true);
    assert.match(r[3].faultString, /^client_id: no client 999/);
  });

  test("an unexpected exception in a handler is Fault 1 and lands in getServerErrors", async () => {
    const keys = farm.keys;
    await farm.redis.del(keys.serverErrors);
    await farm.redis.set(keys.groups, "not a sorted set");
    try {
      const [fault, log] = await py<
        [{ faultCode: number }, { total: number; errors: { method: string; message: string }[] }]
      >(farm.url, `out([fault(hq.getClientGroups), hq.getServerErrors()])`);
      assert.equal(fault.faultCode, 1);
      // Background readers of the groups (the scheduler's client cache) may hit the bad key too.
      const mine = log.errors.filter((e) => e.method === "getClientGroups");
      assert.equal(mine.length, 1, JSON.stringify(log.errors));
      assert.match(mine[0]?.message ?? "", /WRONGTYPE/);
    } finally {
      await farm.redis.del(keys.groups, keys.serverErrors);
    }
  });

  test("the error log is capped and recording never throws, even with Redis gone", async () => {
    const keys = new Keys(`${farm.coordinator.prefix}cap:`);
    const record = errorRecorder(farm.redis, keys, 3);
    for (let i = 0; i < 5; i++) await record({ message: `e${i}`, time: i });
    const kept = (await farm.redis.lrange(keys.serverErrors, 0, -1)).map(
      (e) => (JSON.parse(e) as { message: string }).message,
    );
    assert.deepEqual(kept, ["e4", "e3", "e2"]);
    const dead = new Redis("redis://127.0.0.1:1", {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    const quiet = console.error;
    console.error = () => {};
    try {
      await errorRecorder(dead, keys)({ message: "lost", time: 0 });
    } finally {
      console.error = quiet;
      dead.disconnect();
    }
  });

  test("SIGTERM stops it cleanly with exit code 0", async () => {
    const other = await startCoordinator({ redisUrl: farm.coordinator.redisUrl });
    const exited = new Promise<number | null>((resolve) =>
      other.process.once("exit", (code) => resolve(code)),
    );
    other.process.kill("SIGTERM");
    assert.equal(await exited, 0);
    await other.stop();
  });

  test("SIGTERM: connections with no request in flight do not hold the shutdown for its 10 s grace", async () => {
    const other = await startCoordinator({ redisUrl: farm.coordinator.redisUrl });
    // One connected and never sent a request (a browser's preconnect, a port probe); one whose response
    // ended during the shutdown (an event stream, which the shutdown ends); one kept alive after a call.
    const silent = connect(other.port, "127.0.0.1");
    await once(silent, "connect");
    const stream = connect(other.port, "127.0.0.1");
    await once(stream, "connect");
    stream.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await once(stream, "data");
    const kept = connect(other.port, "127.0.0.1");
    await once(kept, "connect");
    kept.write(`GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await once(kept, "data");
    const sockets = [silent, stream, kept];
    for (const socket of sockets) socket.on("data", () => {}).on("error", () => {});
    const closed = sockets.map((socket) => once(socket, "close"));
    const exited = new Promise<number | null>((resolve) =>
      other.process.once("exit", (code) => resolve(code)),
    );
    const began = Date.now();
    other.process.kill("SIGTERM");
    assert.equal(await exited, 0);
    const took = Date.now() - began;
    await Promise.all(closed);
    await other.stop();
    assert.ok(took < 5000, `the shutdown took ${took} ms`);
  });
});

describe("request bounds from the configuration", () => {
  test("OPENHQ_MAX_REQUEST_BYTES and OPENHQ_MAX_XML_DEPTH bound what one call may be", async () => {
    const coordinator = await startCoordinator({
      env: { OPENHQ_MAX_REQUEST_BYTES: "4096", OPENHQ_MAX_XML_DEPTH: "16" },
    });
    try {
      const post = (body: string) =>
        fetch(coordinator.url + "/RPC2", { method: "POST", body }).then(async (r) => ({
          status: r.status,
          text: await r.text(),
        }));
      const call = (param: string) =>
        `<?xml version='1.0'?><methodCall><methodName>ping</methodName><params><param>${param}</param></params></methodCall>`;
      const big = await post(call(`<value><string>${"x".repeat(8192)}</string></value>`));
      assert.equal(big.status, 413);
      const nested = (depth: number) =>
        "<value><array><data>".repeat(depth) +
        "<value><int>1</int></value>" +
        "</data></array></value>".repeat(depth);
      const deep = await post(call(nested(20)));
      assert.equal(deep.status, 200);
      assert.match(deep.text, /<name>faultCode<\/name>/);
      const shallow = await post(call(nested(2)));
      assert.match(shallow.text, /<boolean>1<\/boolean>/);
    } finally {
      await coordinator.stop();
    }
  });
});

describe("embedded redis-server (no --redis)", () => {
  const data = mkdtempSync(join(tmpdir(), "openhq-data-"));
  const pidFile = join(data, "redis", "redis.pid");
  after(() => rmSync(data, { recursive: true, force: true }));

  test("starts its own redis-server under --data, restarts it when killed, stops it on exit; data persists", async () => {
    const first = await startCoordinator({ embedded: true, args: ["--data", data, "--prefix", "emb:"] });
    let redisPid = Number(readFileSync(pidFile, "utf8"));
    try {
      assert.ok(existsSync(join(data, "redis", "appendonlydir")), "AOF is on");
      assert.ok(alive(redisPid));
      const gid = await py<number>(first.url, `out(hq.createClientGroup("persisted"))`);
      assert.equal(gid, 1);

      // A second coordinator must not take over a data folder in use.
      const intruder = await startCoordinator({
        embedded: true,
        args: ["--data", data, "--prefix", "emb:"],
      }).then(
        async (c) => {
          await c.stop();
          return "started";
        },
        (err: Error) => err.message,
      );
      assert.match(intruder, /in use by the coordinator/);

      process.kill(redisPid, "SIGKILL");
      // The next call waits in the command queue until the supervisor has restarted redis-server.
      const names = await py<string[]>(first.url, `out([g["name"] for g in hq.getClientGroups()])`);
      assert.ok(names.length <= 1);
      const restartedPid = Number(readFileSync(pidFile, "utf8"));
      assert.notEqual(restartedPid, redisPid);
      assert.ok(alive(restartedPid));
      redisPid = restartedPid;
      await py(first.url, `hq.createClientGroup("after-restart"); out(None)`);
    } finally {
      await first.stop();
    }
    assert.equal(alive(redisPid), false, "the private redis-server stops with the coordinator");

    const second = await startCoordinator({ embedded: true, args: ["--data", data, "--prefix", "emb:"] });
    try {
      const names = await py<string[]>(second.url, `out([g["name"] for g in hq.getClientGroups()])`);
      assert.ok(names.includes("after-restart"), `data survived a restart: ${names.join(", ")}`);
    } finally {
      await second.stop();
    }
  });
});
