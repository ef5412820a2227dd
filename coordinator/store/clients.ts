// Client (agent) records in Redis. One record per identity `hostname` / `hostname:name` (the label); its id
// comes from `{p}ids:client` on first registration and stays the same across agent and coordinator restarts.
//
//   {p}client:{id}        HASH  identity and machine (hostname, name, label, version, platform = os, arch, cpus,
//                               cpuSpeed, memory KB, ip, clientPort), state set by the farm (disabled 0|1,
//                               description, availabilityRules JSON, needsUpgrade 0|1, terminated 0|1 once the
//                               agent said goodbye, heldFor = id of a multi-host job holding the client or ""),
//                               heartbeat stats (available 0|1, load, idleTime, freeMemory, lastHeartbeat ms),
//                               link state (connected 0|1, coordinator = id of the process holding the link,
//                               disconnectedAt = ms the link went down, "" while connected),
//                               mirrors written by other APIs: groups (JSON ids), threadId, latestNote;
//                               bad-blade state: quarantinedUntil ms, probation 1, quarantineReason JSON
//                               (lua/includes/bladeHealth.lua); GPUs as the agent reports them: gpus = count,
//                               gpuDevices JSON [{index, model, memory MB, freeMemory MB|null}] (moveToAssigned
//                               books their indices; a job's booked devices are its `gpuDevices`)
//   {p}client:{id}:jobs   SET   jobs assigned to the client (written by the job transitions)
//   {p}clients            ZSET  all client ids;  {p}clients:byLabel HASH label -> id
//   {p}clients:heartbeat  ZSET  client id -> last heartbeat ms; liveness sweeps read the stale end of it

import type { Redis } from "ioredis";
import { runScript } from "./lua-scripts.js";
import { jsonList } from "./stored-json.js";
import type { Context } from "../context.js";
import type {
  AgentMachine,
  AvailabilityRule,
  GpuDevice,
  HelloMessage,
  HeartbeatMessage,
} from "../../shared/protocol.js";

export function clientLabel(hostname: string, name: string): string {
  return name === "" ? hostname : `${hostname}:${name}`;
}

export interface ClientRecord extends AgentMachine {
  id: number;
  label: string;
  availabilityRules: AvailabilityRule[];
  available: boolean;
  disabled: boolean;
  description: string;
  load: number;
  idleTime: number;
  freeMemory: number;
  /** ms since epoch; 0 = never */
  lastHeartbeat: number;
  needsUpgrade: boolean;
  /** upgradeClients(): "" (never asked), "pending", "upgraded" or "failed: why". */
  upgradeState: string;
  terminated: boolean;
  connected: boolean;
  /** ms since epoch the link went down; 0 while connected, or when not known. */
  disconnectedAt: number;
  heldFor: number | null;
  /** Mirrors kept by the group and note stores (coordinator/store/groups.ts, notes.ts). */
  groups: number[];
  threadId: number | null;
  latestNote: string;
  /** ms; a quarantined client takes no new work before it (0 = not quarantined). */
  quarantinedUntil: number;
  /** Quarantined until a frame succeeds: once quarantinedUntil has passed, one frame at a time. */
  probation: boolean;
  /** The machine's GPUs as its agent last reported them (hash field `gpuDevices`; `gpus` holds the count). */
  gpuDevices: GpuDevice[];
}

function num(value: string | undefined, fallback = 0): number {
  const n = Number(value);
  return value === undefined || value === "" || !Number.isFinite(n) ? fallback : n;
}

function rules(json: string | undefined): AvailabilityRule[] {
  return jsonList(json) as AvailabilityRule[];
}

function ids(json: string | undefined): number[] {
  return jsonList(json).map(Number).filter(Number.isFinite);
}

/** The stored GPU list; anything malformed counts as none (the link validated what it stored). */
function gpuDevices(json: string | undefined): GpuDevice[] {
  return jsonList(json).filter(
    (d): d is GpuDevice => typeof d === "object" && d !== null && Number.isInteger((d as GpuDevice).index),
  );
}

/**
 * The hash fields of a reported GPU list (validated by link/gpus.ts): the count for the scripts, the
 * devices with only their known fields. An agent that reports none (one older than GPU booking) has none.
 */
function gpuFields(list: readonly GpuDevice[] | undefined): { gpus: string; gpuDevices: string } {
  const devices = (list ?? []).map(({ index, model, memory, freeMemory }) => ({
    index,
    model,
    memory,
    freeMemory,
  }));
  return { gpus: String(devices.length), gpuDevices: JSON.stringify(devices) };
}

export function parseClient(id: number, h: Record<string, string>): ClientRecord | null {
  if (h.hostname === undefined) return null;
  const name = h.name ?? "";
  return {
    id,
    hostname: h.hostname,
    name,
    label: h.label ?? clientLabel(h.hostname, name),
    version: h.version ?? "",
    platform: h.platform ?? "",
    arch: h.arch ?? "",
    cpus: num(h.cpus, 1),
    cpuSpeed: num(h.cpuSpeed),
    memory: num(h.memory),
    ip: h.ip ?? "",
    clientPort: num(h.clientPort),
    availabilityRules: rules(h.availabilityRules),
    available: h.available !== "0",
    disabled: h.disabled === "1",
    description: h.description ?? "",
    load: num(h.load),
    idleTime: num(h.idleTime, -1),
    freeMemory: num(h.freeMemory),
    lastHeartbeat: num(h.lastHeartbeat),
    needsUpgrade: h.needsUpgrade === "1",
    upgradeState: h.upgradeState ?? "",
    terminated: h.terminated === "1",
    connected: h.connected === "1",
    disconnectedAt: h.connected === "1" ? 0 : num(h.disconnectedAt),
    heldFor: h.heldFor ? num(h.heldFor) : null,
    groups: ids(h.groups),
    threadId: h.threadId ? num(h.threadId) : null,
    latestNote: h.latestNote ?? "",
    quarantinedUntil: num(h.quarantinedUntil),
    probation: h.probation === "1",
    gpuDevices: gpuDevices(h.gpuDevices),
  };
}

/** The id for a label, creating the record's id on first sight. Ids are never reused. */
export async function clientIdFor(redis: Redis, ctx: Pick<Context, "keys">, label: string): Promise<number> {
  const existing = await redis.hget(ctx.keys.clientsByLabel, label);
  if (existing !== null) return Number(existing);
  const fresh = await redis.incr(ctx.keys.ids("client"));
  // Two coordinators registering the same label at once: the first HSETNX wins, the loser's id stays unused.
  if ((await redis.hsetnx(ctx.keys.clientsByLabel, label, String(fresh))) === 1) return fresh;
  return Number(await redis.hget(ctx.keys.clientsByLabel, label));
}

/** Records a hello: identity and machine facts, connected to `coordinatorId`. Returns the client id. */
export async function registerClient(
  ctx: Pick<Context, "redis" | "keys">,
  hello: HelloMessage,
  coordinatorId: string,
  now: number,
  /** The link's remote address: a credential-less re-enrollment of this name is allowed from it. */
  address: string,
): Promise<number> {
  const label = clientLabel(hello.hostname, hello.name);
  const id = await clientIdFor(ctx.redis, ctx, label);
  // An agent back with another version has been upgraded (upgradeClients, or installed again).
  const [previous, upgradeState] = await ctx.redis.hmget(ctx.keys.client(id), "version", "upgradeState");
  const upgraded = previous !== null && previous !== hello.version ? { needsUpgrade: "0" } : {};
  // The first hello after upgradeClients() tells how it went: the agent says why when it failed.
  const outcome =
    hello.upgradeError !== undefined
      ? { upgradeState: `failed: ${hello.upgradeError}` }
      : upgradeState === "pending"
        ? { upgradeState: "upgraded" }
        : {};
  await ctx.redis
    .multi()
    .hset(ctx.keys.client(id), {
      hostname: hello.hostname,
      name: hello.name,
      label,
      version: hello.version,
      platform: hello.platform,
      arch: hello.arch,
      cpus: String(Math.max(1, Math.trunc(hello.cpus))),
      cpuSpeed: String(hello.cpuSpeed),
      memory: String(hello.memory),
      ip: hello.ip,
      address,
      clientPort: String(hello.clientPort),
      availabilityRules: JSON.stringify(hello.availabilityRules ?? []),
      lastHeartbeat: String(now),
      connected: "1",
      disconnectedAt: "",
      coordinator: coordinatorId,
      // A fresh hello cancels an earlier goodbye: the machine came back to work.
      terminated: "0",
      ...gpuFields(hello.gpus),
      ...upgraded,
      ...outcome,
    })
    .hsetnx(ctx.keys.client(id), "disabled", "0")
    .hsetnx(ctx.keys.client(id), "needsUpgrade", "0")
    .hsetnx(ctx.keys.client(id), "available", "1")
    .zadd(ctx.keys.clients, id, String(id))
    .zadd(ctx.keys.clientHeartbeats, now, String(id))
    .publish(ctx.keys.eventsChannel, clientNotice(id, "connected"))
    .exec();
  return id;
}

/**
 * Records a heartbeat in one call (recordHeartbeat.lua) and returns the ids of the jobs Redis gives the client
 * now, for the link to compare with what the agent runs. Null, writing nothing, when the record has lost its
 * registration (a Redis failover lost the hello's writes, or the record was removed): heartbeats alone would
 * build a record without hostname, cpus or platform that no job can ever run on, so the link must say hello
 * again.
 */
export async function recordHeartbeat(
  ctx: Pick<Context, "redis" | "keys">,
  id: number,
  beat: HeartbeatMessage,
  coordinatorId: string,
  now: number,
): Promise<number[] | null> {
  const fields: Record<string, string> = {
    load: String(beat.load),
    idleTime: String(beat.idleTime),
    freeMemory: String(beat.freeMemory),
    available: beat.available ? "1" : "0",
    lastHeartbeat: String(now),
    connected: "1",
    coordinator: coordinatorId,
    ...(beat.gpus === undefined ? {} : gpuFields(beat.gpus)),
  };
  const jobs = (await runScript(ctx.redis, ctx.keys.prefix, "recordHeartbeat", [
    id,
    now,
    ...Object.entries(fields).flat(),
  ])) as string[] | null;
  return jobs === null ? null : jobs.map(Number);
}

/** The link went down. The record keeps its jobs until activeTimeout says the machine is gone. */
export async function markDisconnected(
  ctx: Context,
  id: number,
  coordinatorId: string,
  now: number,
): Promise<void> {
  // Only when this process still holds the link: the agent may already be connected elsewhere.
  const holder = await ctx.redis.hget(ctx.keys.client(id), "coordinator");
  if (holder === coordinatorId)
    await ctx.redis
      .multi()
      .hset(ctx.keys.client(id), { connected: "0", disconnectedAt: String(now) })
      .publish(ctx.keys.eventsChannel, clientNotice(id, "disconnected"))
      .exec();
}

/** The {p}events notice of a client's change (the scheduler ignores it; GET /events shows it). */
function clientNotice(id: number, change: "connected" | "disconnected" | "disabled" | "enabled"): string {
  return `{"type":"client","clientId":${id},"change":"${change}"}`;
}

export async function readClient(ctx: Context, id: number): Promise<ClientRecord | null> {
  return parseClient(id, await ctx.redis.hgetall(ctx.keys.client(id)));
}

export async function readClients(ctx: Context, ids: readonly number[]): Promise<(ClientRecord | null)[]> {
  if (ids.length === 0) return [];
  const pipe = ctx.redis.pipeline();
  for (const id of ids) pipe.hgetall(ctx.keys.client(id));
  const replies = (await pipe.exec()) ?? [];
  return ids.map((id, i) => {
    const reply = replies[i];
    return reply && !reply[0] ? parseClient(id, reply[1] as Record<string, string>) : null;
  });
}

export async function allClientIds(ctx: Context): Promise<number[]> {
  return (await ctx.redis.zrange(ctx.keys.clients, "0", "-1")).map(Number);
}

/** How many clients are registered ({p}clients), in O(1). */
export function clientCount(ctx: Context): Promise<number> {
  return ctx.redis.zcard(ctx.keys.clients);
}

export async function clientExists(ctx: Context, id: number): Promise<boolean> {
  return (await ctx.redis.exists(ctx.keys.client(id))) === 1;
}

/** Whether the id is in the client list ({p}clients). */
export async function clientListed(ctx: Context, id: number): Promise<boolean> {
  return (await ctx.redis.zscore(ctx.keys.clients, id)) !== null;
}

/** The ids of the jobs assigned to one client now, in no order (a failed read throws). */
export async function jobsOfClient(ctx: Context, id: number): Promise<number[]> {
  return (await ctx.redis.smembers(ctx.keys.clientJobs(id))).map(Number);
}

/** Whether job `jobId` is assigned to client `id` now. */
export async function clientHoldsJob(ctx: Context, id: number, jobId: number): Promise<boolean> {
  return (await ctx.redis.sismember(ctx.keys.clientJobs(id), String(jobId))) === 1;
}

/** Ids of the clients whose last heartbeat is at or before `before` (ms): the stale end of {p}clients:heartbeat. */
export async function silentClients(ctx: Context, before: number): Promise<string[]> {
  return ctx.redis.zrangebyscore(ctx.keys.clientHeartbeats, "-inf", before);
}

/** Per client, its assigned job ids and its label (null when unknown). One pipelined round trip. */
export async function jobsAndLabels(
  ctx: Context,
  ids: readonly string[],
): Promise<{ jobs: string[]; label: string | null }[]> {
  const pipe = ctx.redis.pipeline();
  for (const cid of ids) pipe.smembers(ctx.keys.clientJobs(cid)).hget(ctx.keys.client(cid), "label");
  const replies = (await pipe.exec()) ?? [];
  return ids.map((_cid, i) => ({
    jobs: (replies[2 * i]?.[1] ?? []) as string[],
    label: (replies[2 * i + 1]?.[1] as string | null) ?? null,
  }));
}

/** Where the client's agent said it listens: its ip and client port (null when not known). */
export async function clientAddress(ctx: Context, id: number): Promise<(string | null)[]> {
  return ctx.redis.hmget(ctx.keys.client(id), "ip", "clientPort");
}

/** The ids of the jobs assigned to each client now, ascending. One pipelined round trip. */
export async function assignedJobIds(ctx: Context, ids: readonly number[]): Promise<number[][]> {
  if (ids.length === 0) return [];
  const pipe = ctx.redis.pipeline();
  for (const id of ids) pipe.smembers(ctx.keys.clientJobs(id));
  const replies = (await pipe.exec()) ?? [];
  return ids.map((_id, i) => ((replies[i]?.[1] ?? []) as string[]).map(Number).sort((a, b) => a - b));
}

/** The ids of the last `limit` jobs that finished on the client, newest first. */
export async function jobHistory(ctx: Context, id: number, limit: number): Promise<number[]> {
  return (await ctx.redis.lrange(ctx.keys.clientHistory(id), 0, limit - 1)).map(Number);
}

/** Every known client's label (hostname, or hostname:name), in id order. One pipelined round trip. */
export async function allClientLabels(ctx: Context): Promise<string[]> {
  const ids = await ctx.redis.zrange(ctx.keys.clients, "0", "-1");
  const replies =
    (await ctx.redis.pipeline(ids.map((c) => ["hmget", ctx.keys.client(c), "hostname", "name"])).exec()) ??
    [];
  return replies.flatMap(([err, value]) => {
    const [hostname, name] = (err ? [null, null] : value) as (string | null)[];
    if (!hostname) return [];
    return [name ? `${hostname}:${name}` : hostname];
  });
}

/** Sends a control message to the agent, through whichever coordinator holds its link ({p}control:{id}). */
export async function sendControl(ctx: Context, id: number, message: object): Promise<void> {
  await ctx.redis.publish(ctx.keys.controlChannel(id), JSON.stringify(message));
}

/**
 * Client ids for a client name as the API takes it: "host:name" or "host:" name exactly one client;
 * "host" names the client with the empty name, or else every client on that host.
 */
export async function resolveClientName(ctx: Context, clientName: string): Promise<number[]> {
  const colon = clientName.indexOf(":");
  if (colon >= 0) {
    const host = clientName.slice(0, colon);
    const name = clientName.slice(colon + 1);
    const id = await ctx.redis.hget(ctx.keys.clientsByLabel, clientLabel(host, name));
    return id === null ? [] : [Number(id)];
  }
  const exact = await ctx.redis.hget(ctx.keys.clientsByLabel, clientName);
  if (exact !== null) return [Number(exact)];
  const labels = await ctx.redis.hgetall(ctx.keys.clientsByLabel);
  return Object.entries(labels)
    .filter(([label]) => label.startsWith(`${clientName}:`))
    .map(([, id]) => Number(id))
    .sort((a, b) => a - b);
}

export async function setDisabled(ctx: Context, id: number, disabled: boolean): Promise<void> {
  await ctx.redis
    .multi()
    .hset(ctx.keys.client(id), "disabled", disabled ? "1" : "0")
    .publish(ctx.keys.eventsChannel, clientNotice(id, disabled ? "disabled" : "enabled"))
    .exec();
}

export async function setAvailabilityRules(
  ctx: Context,
  id: number,
  value: AvailabilityRule[],
): Promise<void> {
  await ctx.redis.hset(ctx.keys.client(id), "availabilityRules", JSON.stringify(value));
}

/** upgradeClients(): `pending` until the agent's next hello, or `failed: …` at once (not connected). */
export async function askUpgrade(ctx: Context, id: number, state: string): Promise<void> {
  await ctx.redis.hset(ctx.keys.client(id), { needsUpgrade: "1", upgradeState: state });
}

export async function markTerminated(ctx: Context, id: number): Promise<void> {
  await ctx.redis.hset(ctx.keys.client(id), "terminated", "1");
}

/**
 * Deletes a client's record for good (lua/removeClient.lua): "removed", "gone" when there was none, or
 * "held" (nothing changed) while jobs are still assigned to it.
 */
export async function removeClientRecord(ctx: Context, id: number): Promise<"removed" | "gone" | "held"> {
  const result = await runScript(ctx.redis, ctx.keys.prefix, "removeClient", [id]);
  return result === 1 ? "removed" : result === 0 ? "gone" : "held";
}

/** Removes a terminated client once it holds no jobs (lua/removeClientIfIdle.lua). */
export async function removeIfTerminatedAndIdle(ctx: Context, id: number): Promise<boolean> {
  return (await runScript(ctx.redis, ctx.keys.prefix, "removeClientIfIdle", [id])) === 1;
}
