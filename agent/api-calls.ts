// The audit trail of port 5001 (agent/api.ts): each call, allowed or refused, goes to the coordinator as a
// `clientApiCall` message, and the coordinator records it in the farm's audit log beside the XML-RPC calls
// it serves itself (coordinator/audit). Calls made while the agent is not linked wait for the next welcome,
// MAX_WAITING at most (the oldest dropped). Anyone on the network may call `wakeup`, so records are cut to
// RECORDS_PER_SECOND (a burst of BURST), what is cut counted in the agent's log.

import type { ClientApiCallMessage } from "../shared/protocol.js";
import { RateBuckets } from "../shared/rate-buckets.js";
import type { ApiCall } from "./api.js";
import type { Logger } from "./log.js";

const RECORDS_PER_SECOND = 5;
const BURST = 20;
const MAX_WAITING = 50;
const CUT_LOG_EVERY_MS = 60_000;

export class ApiCallReporter {
  private waiting: ClientApiCallMessage[] = [];
  private readonly bucket = new RateBuckets(RECORDS_PER_SECOND, BURST, 1);
  private cut = 0;
  private lastCutLog = 0;

  constructor(
    private readonly outlet: { isOpen(): boolean; send(text: string): unknown },
    private readonly log: Logger,
  ) {}

  readonly called = (call: ApiCall): void => {
    if (call.outcome !== "ok" && call.method === "terminate")
      this.log.warn(`terminate() from ${call.address} refused: ${call.fault ?? call.outcome}`);
    if (!this.bucket.take("")) {
      this.cut++;
      const now = Date.now();
      if (now - this.lastCutLog >= CUT_LOG_EVERY_MS) {
        this.lastCutLog = now;
        this.log.warn(
          `client port: ${this.cut} call(s) over ${RECORDS_PER_SECOND}/s not sent to the audit log`,
        );
        this.cut = 0;
      }
      return;
    }
    const message: ClientApiCallMessage = { type: "clientApiCall", ...call };
    if (this.outlet.isOpen()) {
      void this.outlet.send(JSON.stringify(message));
      return;
    }
    this.waiting.push(message);
    if (this.waiting.length > MAX_WAITING) this.waiting.shift();
  };

  /** The agent is linked again: the calls that waited go out. */
  flush(): void {
    if (!this.outlet.isOpen()) return;
    for (const message of this.waiting) void this.outlet.send(JSON.stringify(message));
    this.waiting = [];
  }
}
