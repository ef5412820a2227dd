// The agent <-> coordinator protocol: JSON messages over one WebSocket at ws://coordinator:5000/agent.
// Both programs import these types; change them here and both ends follow.
//
// Guarantees (docs/DESIGN.md): every assignment carries an `attempt`; anything an agent reports for an attempt
// that is no longer current is acknowledged and dropped. Output chunks and job events are numbered per
// (jobId, attempt) with `seq` starting at 1; the agent keeps each until the coordinator acks it and resends
// after reconnecting; the coordinator applies each seq at most once, in order.

export const PROTOCOL_VERSION = 1;
export const AGENT_PATH = "/agent";

/** Exit code with which an agent asks its service manager to restart it on an upgraded install. */
export const UPGRADE_EXIT_CODE = 75;

export interface RunningJob {
  jobId: number;
  attempt: number;
  pid: number;
}

export interface AvailabilityWindow {
  type: "window";
  /** 0 = Sunday … 6 = Saturday; empty or absent = every day. */
  days?: number[];
  /** "HH:MM" local time on the agent; start > end wraps past midnight. */
  start: string;
  end: string;
}
export interface AvailabilityIdle {
  type: "idle";
  /** Minimum minutes without keyboard/mouse input. */
  minutes: number;
}
export interface AvailabilityAnytime {
  type: "anytime";
}
export type AvailabilityRule = AvailabilityWindow | AvailabilityIdle | AvailabilityAnytime;

// ---- agent -> coordinator -------------------------------------------------------------------------------

/** One GPU of the machine, as the driver tells it (agent/gpus.ts); the coordinator books it by `index`. */
export interface GpuDevice {
  /** The driver's device index (nvidia-smi `index`): what CUDA_VISIBLE_DEVICES and HQ_GPUS name. */
  index: number;
  model: string;
  /** MB; 0 when the driver does not tell. */
  memory: number;
  /** MB; null when the driver does not tell. */
  freeMemory: number | null;
}

/** What an agent tells of itself and its machine in `hello`; the client record keeps it (store/clients.ts). */
export interface AgentMachine {
  hostname: string;
  /** From hqnode.ini `name`; "" by default. The client's identity is `hostname` or `hostname:name`. */
  name: string;
  version: string;
  /** "linux" | "windows" | "macosx" */
  platform: string;
  /** HQCLIENTARCH style, e.g. "linux-x86_64". */
  arch: string;
  cpus: number;
  /** MHz */
  cpuSpeed: number;
  /** KB */
  memory: number;
  ip: string;
  clientPort: number;
}

export interface HelloMessage extends AgentMachine {
  type: "hello";
  protocol: number;
  /** The farm secret (coordinator openhq.farmSecret; generated on first start when not configured). */
  token?: string;
  /** This client's own credential, from an earlier `welcome`: required once the client name is enrolled. */
  credential?: string;
  availabilityRules: AvailabilityRule[];
  /** Jobs whose processes survived on this agent (after a reconnect or an agent restart). */
  running: RunningJob[];
  /**
   * Added by the agent helper: attempts an earlier agent process on this machine left running, which this
   * agent killed at start (it cannot re-attach to their output, which died with the old process). They are
   * not in `running`; the coordinator ends them at once (retried per triesLeft) instead of waiting for a
   * timeout.
   */
  lost?: RunningJob[];
  /** Why the upgradeClients() before this start failed (the agent restarted on its old code); at most 500 characters. */
  upgradeError?: string;
  /** The machine's GPUs (absent from agents before GPU booking: none). */
  gpus?: GpuDevice[];
}

export interface HeartbeatMessage {
  type: "heartbeat";
  load: number;
  /** minutes; -1 unknown */
  idleTime: number;
  /** KB */
  freeMemory: number;
  available: boolean;
  running: RunningJob[];
  /** The GPUs again, with their free memory now (absent: unchanged since hello). */
  gpus?: GpuDevice[];
  /**
   * How many `assign` messages the agent had received on this link when it sent the heartbeat: a job
   * assigned after them cannot be listed yet, however late the coordinator reads the heartbeat.
   */
  assigns?: number;
}

export interface StartedMessage {
  type: "started";
  jobId: number;
  attempt: number;
  seq: number;
  pid: number;
}

export interface ProgressMessage {
  type: "progress";
  jobId: number;
  attempt: number;
  seq: number;
  /** 0..1 */
  progress: number;
}

export interface OutputMessage {
  type: "output";
  jobId: number;
  attempt: number;
  seq: number;
  /** UTF-8 text when `encoding` is absent; base64 of raw bytes when "base64". */
  data: string;
  encoding?: "base64";
}

export interface FinishedMessage {
  type: "finished";
  jobId: number;
  attempt: number;
  seq: number;
  exitCode: number | null;
  signal: string | null;
  /**
   * What the agent did: ran to the end, was cancelled, hit maxTime, killed it as stalled (no output for the
   * assignment's `stallTimeout`), or could not start the command.
   */
  reason: "exited" | "cancelled" | "maxTime" | "stalled" | "spawnError";
  /** With reason "stalled": the seconds without output after which the agent killed it. */
  stalledAfter?: number;
}

/** The agent confirms a pause/resume took effect (pausing -> paused, resuming -> running). */
export interface PausedMessage {
  type: "paused" | "resumed";
  jobId: number;
  attempt: number;
  seq: number;
}

/** Sent once by `terminate()`: remove this client from the server's list once it has no jobs left. */
export interface GoodbyeMessage {
  type: "goodbye";
}

export type JobEventMessage =
  StartedMessage | ProgressMessage | OutputMessage | FinishedMessage | PausedMessage;

/**
 * A call to the agent's own XML-RPC port (5001: `wakeup`, `terminate`), allowed or refused, for the farm's
 * audit log (coordinator/audit). Sent once the agent is welcomed (calls made while it was not linked wait,
 * a few dozen at most); a coordinator that does not know the type ignores it.
 */
export interface ClientApiCallMessage {
  type: "clientApiCall";
  method: "wakeup" | "terminate";
  /** ms since the epoch, when the call was answered. */
  time: number;
  /** The Basic auth user name of a call that gave the farm token; "" for none. */
  user: string;
  /** The caller's IP address. */
  address: string;
  /** The caller's User-Agent header (at most 200 characters): how it came (python, openhq-cli …). */
  userAgent: string;
  /** "ok", or the fault code it was answered with. */
  outcome: "ok" | number;
  fault?: string;
}

export type AgentMessage =
  | HelloMessage
  | HeartbeatMessage
  | GoodbyeMessage
  | JobEventMessage
  | ClientApiCallMessage;

// ---- coordinator -> agent -------------------------------------------------------------------------------

export interface WelcomeMessage {
  type: "welcome";
  clientId: number;
  /** ms */
  heartbeatInterval: number;
  /** HQROOT for this agent's platform. */
  hqroot: string;
  /** What jobs see as HQSERVER, e.g. "http://farm:5000". */
  serverUrl: string;
  /**
   * True when the farm's access control (openhq.auth) is on: `terminate` on the agent's port 5001 then needs
   * the farm token. With it off, terminate answers any caller but a browser, as HQueue's client does, so
   * autoscaling scripts keep calling ServerProxy("http://node:5001").terminate() unchanged.
   */
  clientApiAuth?: boolean;
  /** Attempts from `hello.running` that the coordinator no longer wants: the agent kills them. */
  stop: { jobId: number; attempt: number }[];
  /** Given once, when the client name is enrolled: the agent keeps it and sends it in every later hello. */
  credential?: string;
}

export interface RefusedMessage {
  type: "refused";
  reason: string;
}

export interface AssignMessage {
  type: "assign";
  jobId: number;
  attempt: number;
  rootJobId: number;
  name: string;
  /** Already resolved for this agent's platform when the spec gave a per-OS dict. */
  command: string;
  shell: string | null;
  environment: Record<string, string>;
  /** Hostnames of every client holding the job (HQHOSTS); the first is the master. */
  hosts: string[];
  master: boolean;
  cpus: number;
  /** The GPU indices booked for the job on this client (CUDA_VISIBLE_DEVICES, HQ_GPUS); absent = none. */
  gpus?: number[];
  /** seconds; null = no limit */
  maxTime: number | null;
  /**
   * seconds without output (progress lines are output) after which the run counts as hung: the agent kills
   * its process group and reports it finished with reason "stalled"; paused time does not count. null or
   * absent = off.
   */
  stallTimeout?: number | null;
  onSuccess: string | null;
  onError: string | null;
  onCancel: string | null;
}

export interface AckMessage {
  type: "ack";
  jobId: number;
  attempt: number;
  /** Everything up to and including this seq is applied. */
  seq: number;
}

export interface JobControlMessage {
  type: "cancel" | "pause" | "resume" | "eject";
  jobId: number;
  attempt: number;
}

export interface SetAvailabilityMessage {
  type: "availability";
  rules: AvailabilityRule[];
}

export interface TerminateMessage {
  type: "terminate";
}

/** upgradeClients(): the agent finishes its running jobs, then exits with UPGRADE_EXIT_CODE. */
export interface UpgradeMessage {
  type: "upgrade";
}

export type CoordinatorMessage =
  | WelcomeMessage
  | RefusedMessage
  | AssignMessage
  | AckMessage
  | JobControlMessage
  | SetAvailabilityMessage
  | TerminateMessage
  | UpgradeMessage;
