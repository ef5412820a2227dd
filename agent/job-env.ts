// The environment a job's command sees (docs/COMPAT.md §7): the agent's own, then the HQ variables, then the job's
// `environment`, then the client's [job_environment] (last, because it describes this machine's paths).

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

export function jobEnvironment(job: AssignMessage, facts: AgentFacts): Record<string, string> {
  return {
    HQROOT: facts.hqroot,
    HQCLIENTARCH: facts.arch,
    HQCLIENT: facts.installDir,
    HQSERVER: facts.serverUrl,
    JOBID: String(job.jobId),
    ROOTJOBID: String(job.rootJobId),
    HQHOSTS: job.hosts.join(","),
    ...job.environment,
    ...facts.jobEnvironment,
  };
}
