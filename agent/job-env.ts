// The environment a job's command sees (docs/COMPAT.md §7): the agent's own without its secrets, then the HQ
// variables, then the job's `environment`, then the client's [job_environment] (last, because it describes
// this machine's paths), then the GPUs booked for the job, if any (last: two jobs must not share a device).
//
// The agent's own environment is what a render node's tools expect (PATH, HOME, USER, LANG, TMPDIR, licence
// server variables set for the service), so it is passed on, except what belongs to the agent: every
// OPENHQ_* variable (OPENHQ_FARM_SECRET is the farm secret; `npm start` starts the agent with it) and npm's
// npm_* (npm run puts its configuration there, registry tokens included). A job's output is readable by
// every read-only user, so whatever a job can print is public.

import type { AssignMessage } from "../shared/protocol.js";

export interface AgentFacts {
  /** HQROOT for this platform. */
  hqroot: string;
  /** e.g. "linux-x86_64" */
  arch: string;
  /** The agent's install folder. */
  installDir: string;
  /** "http://host:port" */
  serverUrl: string;
  jobEnvironment: Record<string, string>;
}

/** Variables of the agent's own environment a job never inherits (case-insensitive: Windows is). */
const AGENT_ONLY = /^(OPENHQ_|npm_)/i;

/** The agent's environment without its own variables: what a job inherits. */
export function inheritedEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env))
    if (value !== undefined && !AGENT_ONLY.test(key)) out[key] = value;
  return out;
}

/**
 * The variables that name a job's booked GPUs (docs/COMPAT.md §7): CUDA_VISIBLE_DEVICES with nvidia-smi's
 * indices, CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA numbers the devices as nvidia-smi does (its default,
 * FASTEST_FIRST, may not), and HQ_GPUS. None for a job without GPUs: it sees the machine as before.
 */
export function gpuEnvironment(gpus: readonly number[] | undefined): Record<string, string> {
  if (gpus === undefined || gpus.length === 0) return {};
  const list = gpus.join(",");
  return { CUDA_VISIBLE_DEVICES: list, CUDA_DEVICE_ORDER: "PCI_BUS_ID", HQ_GPUS: list };
}

export function jobEnvironment(
  job: AssignMessage,
  facts: AgentFacts,
  inherited: Record<string, string> = inheritedEnvironment(),
): Record<string, string> {
  return {
    ...inherited,
    HQROOT: facts.hqroot,
    HQCLIENTARCH: facts.arch,
    HQCLIENT: facts.installDir,
    HQSERVER: facts.serverUrl,
    JOBID: String(job.jobId),
    ROOTJOBID: String(job.rootJobId),
    HQHOSTS: job.hosts.join(","),
    ...job.environment,
    ...facts.jobEnvironment,
    ...gpuEnvironment(job.gpus),
  };
}
