// The farm's rules about machines that stop answering. When a client counts as responding: one rule for
// getClients' `responding` and `available` (and so for the dashboard, the CLI, /metrics and the Farm page
// counts, which all read them) and for openhq.frozenTimeout's lower bound. A client answers while its link is
// up and its heartbeats keep coming. And how many runs of one job may end with their machine lost.

/** openhq.maxLostAttempts when not configured: a job lost on this many machines is abandoned. */
export const DEFAULT_MAX_LOST_ATTEMPTS = 3;

/**
 * A client whose link is up but that sent no heartbeat for two intervals is not responding: its agent is
 * frozen (SIGSTOP, swapping to death) or its machine hangs. A second of slack keeps a healthy agent on a busy
 * coordinator from flapping.
 */
export function notRespondingAfterMs(heartbeatIntervalMs: number): number {
  return 2 * heartbeatIntervalMs + 1000;
}

/** What the rule reads from a client record (store/clients.ts). */
export interface LinkState {
  connected: boolean;
  /** ms since epoch; 0 = never */
  lastHeartbeat: number;
}

/** Whether the client answers now: its link is up (the agent said hello) and its last heartbeat is recent. */
export function isResponding(c: LinkState, now: number, heartbeatIntervalMs: number): boolean {
  return c.connected && now - c.lastHeartbeat <= notRespondingAfterMs(heartbeatIntervalMs);
}
