// The Notices page: the outbox (notices waiting or being retried, notices dropped when it was full) and the
// latest delivery outcomes of job mail, the error digest and webhooks, newest first ({p}notices:recent, kept
// by the senders: coordinator/notices/sender.ts). Targets are addresses or hook names, never a hook's URL.

import type { Context } from "../context.js";
import { Outbox } from "../notices/outbox.js";
import { gridTable, html, layout, time, type Html } from "./html.js";

const SHOWN = 100;

export async function noticesPage(ctx: Context): Promise<Html> {
  const outbox = new Outbox(ctx.redis, ctx.keys);
  const [pending, dropped, recent] = await Promise.all([
    outbox.pending(),
    outbox.dropped(),
    outbox.recent(SHOWN),
  ]);
  const body = html`<h1>Notices</h1>
    <p>
      ${String(pending)} in the outbox (to send, or waiting for a retry); ${String(dropped)} dropped because
      it was full. Job mail, the error digest and webhooks: docs/ADMIN.md §11.
    </p>
    ${gridTable(
      ["Time", "Kind", "To", "Job", "Outcome", "Tries", "Error"],
      recent.map(
        (o) =>
          html`<tr class="notice-${o.outcome}">
            <td>${time(new Date(o.at))}</td>
            <td>${o.kind}</td>
            <td>${o.target}</td>
            <td>
              ${o.jobId === undefined ? "" : html`<a href="/jobs/${String(o.jobId)}">${String(o.jobId)}</a>`}
            </td>
            <td>${o.outcome}</td>
            <td>${String(o.tries)}</td>
            <td>${o.error ?? ""}</td>
          </tr>`,
      ),
      "No deliveries yet.",
      { id: "notices-table" },
    )}`;
  return layout("Notices", "/notices", body);
}
