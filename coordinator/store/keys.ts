// The Redis key schema. Every key starts with one configurable prefix (default "hq:") so several farms, or
// a farm and its tests, can share one Redis. Ids are integers from INCR counters and never reused.
//
//   {p}ids:{kind}                STRING  counter per kind: job, client, group, thread, note, resource
//   {p}ids:queue                 STRING  arrival counter: the low part of each {p}queue score (FIFO)
//   {p}job:{id}                  HASH    one job: its spec fields, its state and its maintained roll-ups
//                                        (field list: coordinator/store/jobs.ts)
//   {p}job:{id}:log:{attempt}    HASH    an attempt's log while not all of it is in the job log store under
//   {p}job:{id}:log:{attempt}:q  LIST    job_logs_dir: its offsets, and the chunks not on disk yet (bounded
//   {p}job:{id}:log:{attempt}:lock STRING window); the flush lock (lua/includes/logKeys.lua, coordinator/logs)
//   {p}logs:open / logs:trash    ZSET    unsealed attempts / deleted jobs whose files are to be removed
//   {p}logs:bytes {p}logs:marker STRING  compressed bytes in the log store / the log folder's marker
//   {p}job:{id}:output           STRING  (jobs from before the log store) the output an older openhq kept
//   {p}job:{id}:output:tail      LIST    (the same, past its cap then: the newest chunks)
//   {p}jobs:status:{status}      ZSET    ids by status (score = id), one set per status, except:
//   {p}jobs:status:runnable      ZSET    the queue: runnable jobs ready for dispatch; lowest score goes first
//                                        (score = -priority * 2^32 + {p}ids:queue at entry: higher priority
//                                        first, FIFO within a priority)
//   {p}jobs:roots:unfinished     ZSET    root ids not yet finished (score = id)
//   {p}jobs:expiry               ZSET    finished root ids by end time (ms), for expireJobsDays and
//                                        getFinishedRootJobIds (an earlier {p}jobs:roots:finished is dropped)
//   {p}queue:class:{cls}         ZSET    the runnable jobs of one requirement class, scored as in the queue
//                                        (cls: a job's `cls` field, see lua/includes/util.lua classOf)
//   {p}queue:heads               ZSET    requirement classes, scored by a lower bound of their head's score
//                                        (an emptied class stays until pruneClasses.lua drops it)
//   {p}queue:clock               ZSET    {p}ids:queue values by when the queue had reached them (ms): one a
//                                        second, one a minute past an hour (getNumWaitingJobs(wait_time))
//   {p}client:{id}               HASH    one client (agent): identity, machine stats, heartbeat, flags
//                                        (field list: coordinator/store/clients.ts)
//   {p}client:{id}:jobs          SET     ids of jobs currently assigned to the client
//   {p}client:{id}:history       LIST    ids of jobs that finished on the client, newest first (capped)
//   {p}clients                   ZSET    all client ids (score = id)
//   {p}clients:byLabel           HASH    "hostname" or "hostname:name" -> client id
//   {p}group:{id}                HASH    {name}
//   {p}group:{id}:clients        SET     client ids
//   {p}groups                    ZSET    all group ids
//   {p}groups:byName             HASH    name -> group id
//   {p}thread:{id}               HASH    {jobId?, clientId?, created? (ms, only a free-standing thread)}
//   {p}thread:{id}:notes         ZSET    note ids (score = note id)
//   {p}note:{id}                 HASH    {text, date (ms), threadId}
//   {p}threads                   ZSET    all thread ids
//   {p}threads:byJob / byClient  HASH    job id / client id -> thread id
//   {p}resource:{id}             HASH    {name, amount, perMachine (0|1), used (per-job holds)}
//   {p}resource:{id}:machines    HASH    per-machine resources: client id -> number of its jobs holding it
//                                        (the machine count in use is HLEN)
//   {p}resources                 ZSET    all resource ids
//   {p}resources:byName          HASH    name -> resource id
//   {p}errors:server             LIST    JSON error records, newest first, capped
//   {p}errors:client:{id}        LIST    JSON error records reported by one client, capped
//   {p}clients:heartbeat         ZSET    client id -> last heartbeat (ms); liveness sweeps read its stale end
//   {p}coordinators:alive        STRING  ms of the latest liveness stamp of any coordinator; a gap means nobody
//                                        heard heartbeats, so clients get a fresh activeTimeout (farmAlive.lua)
//   {p}history:farm              ZSET    the dashboard's farm history, one sample a minute, 24 h
//   {p}history:lock:{minute}     STRING  SET NX: the one coordinator that samples that minute
//   {p}client:{id}:load          LIST    a client's load and job count, a sample a minute, 12 h
//                                        (these three: coordinator/store/history.ts)
//   channel {p}events            pub/sub JSON change events (job/client changed) for dashboards and caches
//   channel {p}control:{clientId} pub/sub control messages for the coordinator that holds that agent's link

export type IdKind = "job" | "client" | "group" | "thread" | "note" | "resource";

export class Keys {
  constructor(readonly prefix = "hq:") {}

  ids(kind: IdKind): string {
    return `${this.prefix}ids:${kind}`;
  }
  job(id: number | string): string {
    return `${this.prefix}job:${id}`;
  }
  jobOutput(id: number | string): string {
    return `${this.prefix}job:${id}:output`;
  }
  jobOutputTail(id: number | string): string {
    return `${this.prefix}job:${id}:output:tail`;
  }
  jobsByStatus(status: string): string {
    return `${this.prefix}jobs:status:${status}`;
  }
  get unfinishedRoots(): string {
    return `${this.prefix}jobs:roots:unfinished`;
  }
  get expiry(): string {
    return `${this.prefix}jobs:expiry`;
  }
  /** The queue is the runnable status set, scored for dispatch. */
  get queue(): string {
    return this.jobsByStatus("runnable");
  }
  queueClass(cls: string): string {
    return `${this.prefix}queue:class:${cls}`;
  }
  get queueHeads(): string {
    return `${this.prefix}queue:heads`;
  }
  get queueClock(): string {
    return `${this.prefix}queue:clock`;
  }
  client(id: number | string): string {
    return `${this.prefix}client:${id}`;
  }
  clientJobs(id: number | string): string {
    return `${this.prefix}client:${id}:jobs`;
  }
  clientHistory(id: number | string): string {
    return `${this.prefix}client:${id}:history`;
  }
  get clients(): string {
    return `${this.prefix}clients`;
  }
  get clientsByLabel(): string {
    return `${this.prefix}clients:byLabel`;
  }
  group(id: number | string): string {
    return `${this.prefix}group:${id}`;
  }
  groupClients(id: number | string): string {
    return `${this.prefix}group:${id}:clients`;
  }
  get groups(): string {
    return `${this.prefix}groups`;
  }
  get groupsByName(): string {
    return `${this.prefix}groups:byName`;
  }
  thread(id: number | string): string {
    return `${this.prefix}thread:${id}`;
  }
  threadNotes(id: number | string): string {
    return `${this.prefix}thread:${id}:notes`;
  }
  note(id: number | string): string {
    return `${this.prefix}note:${id}`;
  }
  get threads(): string {
    return `${this.prefix}threads`;
  }
  get threadsByJob(): string {
    return `${this.prefix}threads:byJob`;
  }
  get threadsByClient(): string {
    return `${this.prefix}threads:byClient`;
  }
  resource(id: number | string): string {
    return `${this.prefix}resource:${id}`;
  }
  get resources(): string {
    return `${this.prefix}resources`;
  }
  get resourcesByName(): string {
    return `${this.prefix}resources:byName`;
  }
  get serverErrors(): string {
    return `${this.prefix}errors:server`;
  }
  clientErrors(id: number | string): string {
    return `${this.prefix}errors:client:${id}`;
  }
  get eventsChannel(): string {
    return `${this.prefix}events`;
  }
  controlChannel(clientId: number | string): string {
    return `${this.prefix}control:${clientId}`;
  }
  resourceMachines(id: number | string): string {
    return `${this.prefix}resource:${id}:machines`;
  }
  get clientHeartbeats(): string {
    return `${this.prefix}clients:heartbeat`;
  }
  get historyFarm(): string {
    return `${this.prefix}history:farm`;
  }
  historyLock(minute: number): string {
    return `${this.prefix}history:lock:${minute}`;
  }
  clientLoad(id: number | string): string {
    return `${this.prefix}client:${id}:load`;
  }
}
