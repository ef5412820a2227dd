// The event fence refuses a gap: an event past a missing one is neither applied nor acked, the coordinator
// closes the link, and the agent's resend from its last ack fills the hole, so every event is applied once
// and in order. A gap the resend cannot fill (Redis lost events it had acked) lets the events through and
// is reported, so the job still ends.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import type { AckMessage } from "../shared/protocol.js";
import { startCoordinator, type TestCoordinator } from "./support/coordinator.js";
import { py, waitFinished } from "./support/farm-kit.js";
import { ProtocolPeer } from "./support/protocol-peer.js";

let coord: TestCoordinator;
let redis: Redis;

before(async () => {
  coord = await startCoordinator({ env: { OPENHQ_HEARTBEAT_INTERVAL: "500" } });
  redis = new Redis(coord.redisUrl);
});
after(async () => {
  redis.disconnect();
  await coord.stop();
});

function acks(peer: ProtocolPeer, jobId: number): number[] {
  return peer.received
    .filter((m): m is AckMessage => m.type === "ack" && m.jobId === jobId)
    .map((m) => m.seq);
}

/** A peer holding one new job; its `started` is seq 1. */
async function holding(hostname: string): Promise<{ peer: ProtocolPeer; jobId: number; attempt: number }> {
  const peer = await new ProtocolPeer({ serverUrl: coord.url, hostname, mode: "hold" }).connect();
  // One peer at a time in this file: the job can only go to this one.
  const [jobId] = await py<number[]>(
    coord.url,
    `out(hq.newjob({"name": "gap", "shell": "bash", "command": "true"}))`,
  );
  await peer.waitFor(() => peer.running.has(jobId as number));
  await peer.waitFor(() => acks(peer, jobId as number).includes(1));
  return {
    peer,
    jobId: jobId as number,
    attempt: (peer.running.get(jobId as number) as { attempt: number }).attempt,
  };
}

/** The same agent on a new link, still running the job. */
function again(hostname: string, jobId: number, attempt: number): Promise<ProtocolPeer> {
  return new ProtocolPeer({
    serverUrl: coord.url,
    hostname,
    mode: "hold",
    running: [{ jobId, attempt, pid: 1 }],
  }).connect();
}

test("an event after a missing one is not applied nor acked; the resend applies everything once", async () => {
  const { peer, jobId, attempt } = await holding("gapper");
  peer.send({ type: "output", jobId, attempt, seq: 2, data: "two\n" });
  await peer.waitFor(() => acks(peer, jobId).includes(2));
  // seq 3 went missing on the way: 4 must not be applied, nor acked (the agent would delete 3 with it).
  peer.send({ type: "output", jobId, attempt, seq: 4, data: "four\n" });
  await peer.waitFor(() => peer.closeCode !== null);
  assert.equal(peer.closeCode, 4009);
  assert.deepEqual(acks(peer, jobId), [1, 2]);
  assert.equal(await py<string>(coord.url, `out(hq.getJobOutput(${jobId}))`), "two\n");

  const resent = await again("gapper", jobId, attempt);
  try {
    resent.send({ type: "output", jobId, attempt, seq: 3, data: "three\n" });
    resent.send({ type: "output", jobId, attempt, seq: 4, data: "four\n" });
    resent.send({ type: "finished", jobId, attempt, seq: 5, exitCode: 0, signal: null, reason: "exited" });
    await resent.waitFor(() => acks(resent, jobId).includes(5));
    assert.deepEqual(await waitFinished(coord.url, [jobId]), { [jobId]: "succeeded" });
    assert.equal(await py<string>(coord.url, `out(hq.getJobOutput(${jobId}))`), "two\nthree\nfour\n");
    assert.equal(resent.closeCode, null);
  } finally {
    resent.close();
  }
});

test("a gap no resend can fill (Redis lost acked events) lets the events through and is reported", async () => {
  const { peer, jobId, attempt } = await holding("forgetful");
  peer.send({ type: "output", jobId, attempt, seq: 2, data: "two\n" });
  await peer.waitFor(() => acks(peer, jobId).includes(2));
  peer.close();
  // As if a failover without waitReplicas lost the write of seq 2 after it was acked.
  await redis.hset(`${coord.prefix}job:${jobId}`, "eventSeq", 1);
  const resent = await again("forgetful", jobId, attempt);
  try {
    resent.send({ type: "output", jobId, attempt, seq: 3, data: "three\n" });
    resent.send({ type: "finished", jobId, attempt, seq: 4, exitCode: 0, signal: null, reason: "exited" });
    await resent.waitFor(() => acks(resent, jobId).includes(4));
    assert.deepEqual(await waitFinished(coord.url, [jobId]), { [jobId]: "succeeded" });
    assert.match(await py<string>(coord.url, `out(hq.getJobOutput(${jobId}))`), /three\n$/);
    const errors = await py<{ errors: { message: string }[] }>(coord.url, `out(hq.getServerErrors())`);
    assert.ok(
      errors.errors.some((e) =>
        e.message.includes(`job ${jobId} attempt ${attempt}: Redis lost acked events`),
      ),
      JSON.stringify(errors),
    );
  } finally {
    resent.close();
  }
});
