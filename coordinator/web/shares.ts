// The Farm page's shares table (docs/ADMIN.md §12): each share's running slots against its guarantee, weight
// and burst, from the counters the transitions keep (store/shares.ts shareRows), whatever the queue holds.

import type { ShareRow } from "../store/shares.js";
import { html, type Html } from "./html.js";

export function sharesTable(rows: readonly ShareRow[]): Html {
  return html`<h2>Shares</h2>
    <table class="grid" id="shares">
      <thead>
        <tr>
          <th>Share</th>
          <th>Running slots</th>
          <th>Guarantee</th>
          <th>Weight</th>
          <th>Burst</th>
          <th>Users</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) =>
            html`<tr>
              <td>${r.name}</td>
              <td class="num">${r.running}</td>
              <td class="num">${r.guarantee}</td>
              <td class="num">${r.weight}</td>
              <td class="num">
                ${r.burst === "" ? html`<span class="muted">none</span>` : r.burst.endsWith("%") ? `${r.burst} (${r.burstSlots ?? "?"} slots)` : r.burst}
              </td>
              <td>${r.users.join(", ")}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}
