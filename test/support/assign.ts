// An `assign` message as the coordinator sends it, for tests and benches that drive an agent directly.
import type { AssignMessage } from "../../shared/protocol.js";

let nextJobId = 1000;

/** A fresh job id each call unless `extra.jobId` is given; everything else as a plain single-host job. */
export function assignMessage(command: string, extra: Partial<AssignMessage> = {}): AssignMessage {
  const jobId = extra.jobId ?? nextJobId++;
  return {
    type: "assign",
    jobId,
    attempt: 1,
    rootJobId: jobId,
    name: `job ${jobId}`,
    command,
    shell: null,
    environment: {},
    hosts: ["here"],
    master: true,
    cpus: 1,
    maxTime: null,
    onSuccess: null,
    onError: null,
    onCancel: null,
    ...extra,
  };
}
