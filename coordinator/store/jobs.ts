// The job store: thin TypeScript around the named Lua scripts in ./lua (one script per state transition).
//
// ---- Job hash `{p}job:{id}` ------------------------------------------------------------------------------
// All values are strings. To keep a finished job small (listpack encoding), optional fields whose value is
// the default are ABSENT; read them with the default given here (`jobField()` below does).
//
// spec (written by addJobs, never changed except where noted):
//   id               the job id
//   name             required
//   command          shell text; absent or "" = commandless container (succeeds once its children do)
//   commandByOs      JSON {"linux":..,"windows":..,"macosx":..} when the spec gave a dict; `command` is then ""
//                    and the scheduler picks the client's platform entry (no entry = the job fails at dispatch)
//   shell            absent = the client OS default
//   priority         integer >= 0 (always present; setJobPriority changes it and re-scores {p}queue)
//   cpus             integer >= 1 (always present)
//   tags             JSON list of strings; absent = []
//   conditions       JSON list of {type,name,op,value}; already includes the host/hostgroup shortcuts and the
//                    root's conditions when the spec gave none; absent = [] (savePermittedClientsList rewrites)
//   environment      JSON dict str->str; absent = {}
//   resources        JSON dict name->amount; absent = none
//   minHosts maxHosts integers (always present)
//   maxTime          seconds, absent = -1 (no limit)
//   triesLeft        integer (always present); decremented on each automatic retry
//   onSuccess onError onCancel onChildError   shell text; absent = none
//   description submittedBy emailTo emailReasons   absent = ""
// state:
//   status           one of shared/statuses.ts (always present)
//   progress         0..1 of the job's own command; absent = 0 (1 once succeeded)
//   attempt          0 before the first assignment; the scheduler's moveToAssigned increments it
//   queueTime        ms since epoch of submission (always present)
//   startTime        ms; the job's own start, or the first start of any descendant (maintained); absent = None
//   endTime          ms; set when the job finishes, removed when it is rescheduled; absent = None
//   root             the root job id (== id for a root; first parent's root when a job has several parents)
//   parents          JSON list of parent ids; absent = [] (a root)
//   children         JSON list of child ids, in creation order; absent = []
//   clients          JSON list of {hostname, clientId, master} of the current/last run; absent = []
//   clientsOnHold    JSON list; absent = []
//   waitingFor       text; absent = ""
//   showBlockedClientsWarning   "1" when set; absent = false
//   logs             compact JSON list of [text, ms] (capped at the newest 50)
//   cmdDone          "1" once the job's own command succeeded (a job that gained children while running
//                    then waits in `queued` for them and does not run its command again)
//   childError       "1" when the job failed because a child failed AND it has an onChildError hook: the job is
//                    put in {p}queue as `runnable` so the scheduler can run ONLY the onChildError text (not the
//                    command) on a client; moveToFinished then marks it failed whatever the exit code, no retry
//   pausedRunning    "1" while a job that was running is pausing/paused (resume -> resuming, not the queue)
// roll-ups (maintained by every transition, read with one HGETALL):
//   nKids            number of children; absent = 0
//   kidsLeft         children not finished yet; absent = 0 (a waiting parent is `queued` while > 0)
//   kidsBad          finished children that did not succeed (failed/abandoned/cancelled); absent = 0
//   treeN            jobs in the subtree that count for progress (self + descendants, minus excludeProgress)
//   treeP            sum of their progress; overallProgress = treeP / treeN
//   treeRun          running descendants (not self); uiStatus "running (N clients assigned)" for a waiting parent
//   (uiStatus and ETA are pure functions of these fields: see jobview.ts)
// output fencing (appendOutput):
//   outAttempt       attempt whose output `{p}job:{id}:output` holds (a new attempt's first chunk resets it)
//   outSeq           highest applied chunk seq of outAttempt (seq <= outSeq is a duplicate, ignored)
//   outBytes         total bytes received for outAttempt; outHead = bytes of the kept head once capped,
//   outHead          absent while not capped (the key then holds head + tail; the gap is shown on read)
//
// ---- Other keys (coordinator/store/keys.ts) --------------------------------------------------------------
//   {p}queue ZSET: exactly the runnable jobs; score = -priority * 2^32 + INCR {p}ids:queue at entry.
//   {p}jobs:status:{s} ZSET: ids by status; {p}jobs:roots:(un)finished; {p}jobs:expiry (finished roots by end).
//
// ---- Shared Lua (lua/includes) for the scheduler ----------------------------------------------------------
//   -- @include setStatus   setStatus(prefix, id, newStatus, now)  moves the job between status sets, enters or
//                           leaves {p}queue, appends the log entry, maintains roots/expiry sets, the ancestors'
//                           treeRun and startTime, and PUBLISHes {"type":"job","id":N,"status":S} on {p}events.
//                           moveToAssigned should call setStatus(prefix, id, "running", now) after its own writes.
//   -- @include releaseClients   releaseClients(prefix, id)  removes the job from every {p}client:{cid}:jobs of
//                           its `clients`, LPUSH+LTRIM(100) the id on {p}client:{cid}:history. Called by every
//                           move out of a running state. (Extend it to release resources; keep the signature.)
// ---- Control messages -----------------------------------------------------------------------------------
//   Scripts that stop/suspend a running attempt PUBLISH on {p}control:{clientId}, for each client of the job,
//   JSON {"type":"cancel"|"pause"|"resume"|"eject","jobId":N,"attempt":A}. The link subscribes and forwards.
