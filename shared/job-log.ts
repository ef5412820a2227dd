// Reading a job's status log (the `logs` attribute: [text, time] entries, oldest first) for how its latest
// run ended. The texts are written by the store's transitions (coordinator/store/jobs.ts header).

/** The exit code of the latest run ("3"), "signal X", "client lost", or "" when it has not ended. */
export function lastExit(logs: readonly (readonly unknown[])[] | undefined | null): string {
  const entries = Array.isArray(logs) ? logs : [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const text = String(entries[i]?.[0] ?? "");
    if (text === "started" || text.startsWith("rescheduled")) return "";
    const code = /^exited with code (-?\d+)/.exec(text);
    if (code) return code[1] ?? "";
    const signal = /^killed by signal (\S+)/.exec(text);
    if (signal) return `signal ${signal[1]}`;
    if (text === "client lost") return "client lost";
  }
  return "";
}
