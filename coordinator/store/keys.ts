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
//   {p}client:{id}:attempts      LIST    the blade's history: JSON attempts and loss/quarantine events,
//                                        newest first (capped; lua/includes/bladeHealth.lua has these six)
//   {p}client:{id}:fails         LIST    its recent failures (JSON), newest first, for the quarantine rule
//   {p}client:{id}:blocked       ZSET    root job ids the client is blocklisted for -> when (ms), capped
//   {p}job:{id}:bladeFails       HASH    on a root: client id -> failures of the tree's frames there, capped
//   {p}job:{id}:blocked          SET     on a root: client ids blocklisted for the tree
//   {p}job:{id}:okOn             SET     no longer written (the root's okOn field took its place); a tree's
//                                        deletion still deletes the set a farm before 2026-12-04 made
//   {p}job:{id}:kids:{status}    ZSET    on a parent: its children in that status (score = child id)
//   {p}job:{id}:failures         ZSET    on a parent: its failed/abandoned children by normalized failure
//                                        message (member = message, score = how many)
//   {p}job:{id}:failed:{group}   ZSET    on a parent: the children of one such message (group = 16 hex of
//                                        its sha1; score = child id). These three: lua/includes/kidsIndex.lua
//   {p}job:{id}:kids:took        ZSET    on a parent: its finished children that ran, score = their run
//                                        seconds (store/run-time.ts; fixed once finished)
//   {p}job:{id}:kids:started     ZSET    on a parent: its unfinished children that have run (a startTime;
//                                        score = id): their seconds grow until viewed. These two order the
//                                        frame table by duration (kidsIndex.lua, store/job-frames.ts)
//   {p}clients                   ZSET    all client ids (score = id)
//   {p}clients:byLabel           HASH    "hostname" or "hostname:name" -> client id
//   {p}clients:removed           HASH    label of a removed client -> sha256 of its credential, refused from
//                                        then on (lua/removeClient.lua, link/identity.ts)
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
//   {p}history:shares            ZSET    the shares' running slots, guarantee and burst, a sample a minute, 24 h
//   {p}history:lock:{minute}     STRING  SET NX: the one coordinator that samples that minute
//   {p}client:{id}:load          LIST    a client's load and job count, a sample a minute, 12 h
//                                        (these four: coordinator/store/history.ts)
//   {p}farm:secret               STRING  the farm secret agents present, when none is configured (link/identity.ts)
//   {p}farm:signingKey           STRING  PEM (PKCS#8) of the ed25519 key that signs the agent artifact
//                                        (web/artifact-signing.ts); made by the first coordinator
//   {p}replicaWait               STRING  a counter bumped before WAIT (store/replica-wait.ts)
//   {p}notices                   HASH    the notice outbox: notice id -> JSON (a job transition to fan out, a mail
//                                        or a webhook delivery; coordinator/notices/outbox.ts)
//   {p}notices:due               ZSET    notice id -> when it is due (ms); a claim moves it to its lease's end,
//                                        and that score is the claim's fencing token
//   {p}notices:new               LIST    job transitions (JSON) not yet claimed, oldest first: a claim gives
//                                        each an id in {p}notices and {p}notices:due (lua/includes/notices.lua)
//   {p}notices:seq               STRING  notice id counter
//   {p}notices:on                HASH    job status -> "1" when a webhook wants it; "max" -> the outbox bound
//                                        (written by each coordinator at start; absent = no webhooks)
//   {p}notices:dropped           STRING  notices dropped because the outbox was full
//   {p}notices:recent            LIST    the latest delivery outcomes (JSON), newest first, capped (dashboard)
//   {p}notices:digest            STRING  SET NX: the coordinator that sends this period's error digest
//   {p}audit                     STREAM  the audit log: state-changing calls, field "e" = JSON record, capped
//                                        (XADD MAXLEN ~; store/audit.ts, coordinator/audit/)
//   {p}shares                    HASH    share name -> JSON {weight, guarantee, burst, burstPct} (shares.ts;
//                                        empty = no shares: dispatch is HQueue's priority then FIFO)
//   {p}shares:users              HASH    submittedBy -> share name (jobs that name no share)
//   {p}shares:settings           HASH    byUser ("1": fair share between users too), userCap (slots),
//                                        farmSlots (CPUs of the registered clients, for a burst in % of the farm)
//   {p}shares:running            HASH    share name -> CPU slots its running jobs hold (a job's cpus on each
//                                        of its clients), kept by moveToAssigned and releaseClients
//   {p}users:running             HASH    submittedBy -> CPU slots its running jobs hold (the same way)
//   channel {p}events            pub/sub JSON change events (job/client changed) for dashboards and caches
//   channel {p}events:viewers    pub/sub change notices only GET /events wants (a dispatch's "running")
//   channel {p}control:{clientId} pub/sub control messages for the coordinator that holds that agent's link
//
// KEY_TEMPLATES below is the one place these names are spelled: `Keys` fills them in for TypeScript, and
// lua-scripts.ts writes a script's keys out from the same table (luaWithKeys), so a script says K.job(id).

export type IdKind = "job" | "client" | "group" | "thread" | "note" | "resource";

/** Every key and channel name after the prefix; `{name}` is a part given per call, in order. */
export const KEY_TEMPLATES = {
  ids: "ids:{kind}",
  queueSeq: "ids:queue",
  job: "job:{id}",
  jobLog: "job:{id}:log:{attempt}",
  jobLogQueue: "job:{id}:log:{attempt}:q",
  jobLogLock: "job:{id}:log:{attempt}:lock",
  jobBladeFails: "job:{id}:bladeFails",
  jobBlocked: "job:{id}:blocked",
  jobOkOn: "job:{id}:okOn",
  jobKids: "job:{id}:kids:{status}",
  jobKidsTook: "job:{id}:kids:took",
  jobKidsStarted: "job:{id}:kids:started",
  jobFailures: "job:{id}:failures",
  jobFailedKids: "job:{id}:failed:{group}",
  jobsByStatus: "jobs:status:{status}",
  /** The queue is the runnable status set, scored for dispatch. */
  queue: "jobs:status:runnable",
  unfinishedRoots: "jobs:roots:unfinished",
  expiry: "jobs:expiry",
  queueClass: "queue:class:{cls}",
  queueHeads: "queue:heads",
  queueClock: "queue:clock",
  logsOpen: "logs:open",
  logsTrash: "logs:trash",
  logsBytes: "logs:bytes",
  logsMarker: "logs:marker",
  client: "client:{id}",
  clientJobs: "client:{id}:jobs",
  clientHistory: "client:{id}:history",
  clientAttempts: "client:{id}:attempts",
  clientFails: "client:{id}:fails",
  clientBlocked: "client:{id}:blocked",
  clientLoad: "client:{id}:load",
  clients: "clients",
  clientsByLabel: "clients:byLabel",
  clientsRemoved: "clients:removed",
  /** Blades in quarantine -> until when (ms), to cap how many are at once (lua/includes/bladeHealth.lua). */
  bladesQuarantined: "blades:quarantined",
  clientHeartbeats: "clients:heartbeat",
  group: "group:{id}",
  groupClients: "group:{id}:clients",
  groups: "groups",
  groupsByName: "groups:byName",
  thread: "thread:{id}",
  threadNotes: "thread:{id}:notes",
  note: "note:{id}",
  threads: "threads",
  threadsByJob: "threads:byJob",
  threadsByClient: "threads:byClient",
  resource: "resource:{id}",
  resourceMachines: "resource:{id}:machines",
  resources: "resources",
  resourcesByName: "resources:byName",
  serverErrors: "errors:server",
  clientErrors: "errors:client:{id}",
  coordinatorsAlive: "coordinators:alive",
  farmSecret: "farm:secret",
  farmSigningKey: "farm:signingKey",
  replicaWait: "replicaWait",
  notices: "notices",
  noticesDue: "notices:due",
  noticesNew: "notices:new",
  noticeSeq: "notices:seq",
  noticesOn: "notices:on",
  noticesDropped: "notices:dropped",
  noticesRecent: "notices:recent",
  noticesDigest: "notices:digest",
  historyFarm: "history:farm",
  historyShares: "history:shares",
  historyLock: "history:lock:{minute}",
  audit: "audit",
  shares: "shares",
  sharesUsers: "shares:users",
  sharesSettings: "shares:settings",
  sharesRunning: "shares:running",
  usersRunning: "users:running",
  eventsChannel: "events",
  viewerEventsChannel: "events:viewers",
  controlChannel: "control:{clientId}",
} as const;

type Templates = typeof KEY_TEMPLATES;
type KeyName = keyof Templates;
/** The parts a template takes, one per `{name}`: an id kind for {kind}, a number for {minute}. */
type Parts<T extends string> = T extends `${string}{${infer Name}}${infer Rest}`
  ? [Name extends "kind" ? IdKind : Name extends "minute" ? number : Part, ...Parts<Rest>]
  : [];
type Part = string | number;

/** A constant key is a string; a key with parts is a function of them, in the template's order. */
type Accessor<T extends string> = Parts<T> extends [] ? string : (...parts: Parts<T>) => string;
type Accessors = { readonly [N in KeyName]: Accessor<Templates[N]> };

/**
 * The key names of one prefix: `keys.queueHeads`, `keys.job(id)`, one member per KEY_TEMPLATES entry, built
 * from the table when constructed (constants once; the rest split once, so a name is a few concatenations).
 */
export type Keys = Accessors & { readonly prefix: string };

export const Keys = class {
  constructor(readonly prefix = "hq:") {
    for (const [name, template] of Object.entries(KEY_TEMPLATES)) {
      const pieces = template.split(/\{\w+\}/);
      const head = prefix + (pieces[0] as string);
      const value =
        pieces.length === 1
          ? head
          : (...parts: Part[]): string => {
              let out = head;
              for (let i = 0; i < parts.length; i++) out += String(parts[i]) + (pieces[i + 1] as string);
              return out;
            };
      Object.defineProperty(this, name, { value, enumerable: true });
    }
  }
} as new (prefix?: string) => Keys;

/** A key below another (`job:{id}:log:{attempt}:q` below `job:{id}:log:{attempt}`): its name, the parent's and the suffix. */
function childOf(name: string): { parent: KeyName; suffix: string } | null {
  if (!(name in KEY_TEMPLATES)) return null;
  const template: string = KEY_TEMPLATES[name as KeyName];
  const cut = template.lastIndexOf("}") + 1;
  const parent = (Object.keys(KEY_TEMPLATES) as KeyName[]).find(
    (n) => KEY_TEMPLATES[n] === template.slice(0, cut),
  );
  return cut > 0 && cut < template.length && parent ? { parent, suffix: template.slice(cut) } : null;
}

/** The Lua expression of key `name` with its parts given as Lua expressions (a key below another: its parent). */
function luaKey(name: string, parts: string[]): string {
  const child = name.endsWith("Of") ? childOf(name.slice(0, -2)) : null;
  if (child) return `(${parts[0] ?? "nil"} .. '${child.suffix}')`;
  if (!(name in KEY_TEMPLATES)) throw new Error(`Lua uses K.${name}, which is not in KEY_TEMPLATES`);
  const template = KEY_TEMPLATES[name as KeyName];
  const pieces = template.split(/\{\w+\}/);
  const params = template.match(/\{\w+\}/g) ?? [];
  if (parts.length !== params.length)
    throw new Error(`Lua gives K.${name} ${parts.length} parts; ${template} has ${params.length}`);
  let expr = `KP .. '${pieces[0]}'`;
  parts.forEach((part, i) => {
    expr += ` .. (${part})`;
    if (pieces[i + 1] !== "") expr += ` .. '${pieces[i + 1]}'`;
  });
  return `(${expr})`;
}

/** The index of the `)` closing the `(` at `open` on the same line, and the top-level commas between. */
function closing(line: string, open: number): { close: number; commas: number[] } {
  const commas: number[] = [];
  let depth = 0;
  for (let i = open; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "'" || c === '"') {
      for (i++; i < line.length && line[i] !== c; i++) if (line[i] === "\\") i++;
    } else if (c === "(" || c === "{" || c === "[") depth++;
    else if (c === ")" || c === "}" || c === "]") {
      depth--;
      if (depth === 0) return { close: i, commas };
    } else if (c === "," && depth === 1) commas.push(i);
  }
  throw new Error(`Lua key call without its closing parenthesis on the line: ${line.trim()}`);
}

/**
 * The Lua side of the same table: a script names keys through `K` (constants as K.queueHeads, the rest as
 * calls with their parts, K.job(id), and a key below another as `<name>Of(parentKey)`: K.jobLogQueueOf(lk) =
 * K.jobLogQueue(id, attempt) when lk = K.jobLog(id, attempt)), and the loader writes each one out as an expression on the prefix
 * `KP` (ARGV[1]): K.job(id) becomes (KP .. 'job:' .. (id)). Written out rather than a table of functions,
 * which Redis would build on every call (~1.4 µs of a hot script's time). Each call's parts must be on its line.
 */
export function luaWithKeys(source: string): string {
  return source
    .split("\n")
    .map((line) => {
      let out = "";
      let from = 0;
      for (const m of line.matchAll(/\bK\.(\w+)/g)) {
        const at = m.index as number;
        if (at < from) continue;
        const name = m[1] as string;
        const after = at + m[0].length;
        out += line.slice(from, at);
        if (line[after] !== "(") {
          out += luaKey(name, []);
          from = after;
          continue;
        }
        const { close, commas } = closing(line, after);
        const cuts = [after, ...commas, close];
        const parts = cuts.slice(1).map((cut, i) => line.slice((cuts[i] as number) + 1, cut).trim());
        out += luaKey(name, parts.length === 1 && parts[0] === "" ? [] : parts);
        from = close + 1;
      }
      return out + line.slice(from);
    })
    .join("\n");
}
