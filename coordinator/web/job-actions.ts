// The buttons that act on the jobs ticked in a list (the jobs list's bulk bar, a job's frame table): each
// calls its XML-RPC method on the selection, through static/app.js, which finds them by their class.

import { html, type Html } from "./html.js";

const LABELS = {
  pauseJobs: "Pause",
  resumeJobs: "Resume",
  rescheduleJobs: "Reschedule",
  cancelJobs: "Cancel",
  ejectJobs: "Eject",
} as const;

export type JobAction = keyof typeof LABELS;

/**
 * One button per method in `actions`, in that order, then the priority setter. Their classes start with
 * `prefix` ("job": job-action, job-priority; "bulk": bulk-action, bulk-priority): app.js tells the bars apart
 * by them.
 */
export function jobActionButtons(prefix: string, actions: readonly JobAction[]): Html {
  return html`${actions.map(
      (method) =>
        html`<button
          type="button"
          class="${prefix}-action${method === "cancelJobs" ? " danger" : ""}"
          data-method="${method}"
        >
          ${LABELS[method]}
        </button>`,
    )}
    <label>Priority <input type="number" min="0" class="${prefix}-priority" value="0" /></label>
    <button type="button" class="${prefix}-action" data-method="setJobPriority">Set priority</button>`;
}
