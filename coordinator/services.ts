// The coordinator's shared parts beside the store's context (redis, keys, settings, logs), built whole by
// main.ts before any of them is used: access control, metrics and the live event stream. Each consumer is
// handed the parts it needs; none is a hidden per-process singleton.

import type { Auth } from "./auth.js";
import type { Context } from "./context.js";
import type { Metrics } from "./metrics.js";
import type { EventStream } from "./web/event-stream.js";

export interface Services {
  readonly ctx: Context;
  readonly auth: Auth;
  readonly metrics: Metrics;
  readonly events: EventStream;
}
