// How long a job's current or last run has been running: from startTime to endTime (or now, while it is not
// finished), less the time its processes were stopped by a pause. The pause spans are kept by the Lua
// transitions confirmPaused (opens one: `pausedAt`) and confirmResumed (closes it into `pausedMs`); a run that
// ends while stopped keeps `pausedAt`, and its span ends with the run. startTime and endTime keep HQueue's
// meaning; this is what the frame table, the render-time chart and the `runTime` attribute show.

export interface RunTimes {
  /** ms since epoch; NaN when the job never started */
  start: number;
  /** ms since epoch; NaN while not finished */
  end: number;
  /** ms stopped by earlier pauses of this run */
  pausedMs: number;
  /** ms since epoch when the current pause began; NaN when not stopped */
  pausedAt: number;
}

/** Seconds of running time; NaN when the job never started. */
export function runSeconds(t: RunTimes, now: number): number {
  if (!Number.isFinite(t.start)) return NaN;
  const end = Number.isFinite(t.end) ? t.end : now;
  const stopped = Number.isFinite(t.pausedAt) ? Math.max(0, end - t.pausedAt) : 0;
  return Math.max(0, end - t.start - t.pausedMs - stopped) / 1000;
}
