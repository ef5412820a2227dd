// The Farm page's shares table (docs/ADMIN.md §12): each share's running slots against its guarantee, weight
// and burst, from the counters the transitions keep (store/shares.ts shareRows), whatever the queue holds.
// For a caller who may change shares (an admin, or anyone with access control off) each row is a form that
// calls setShare (or removeShare) through the XML-RPC API as any script would (static/app.js `.share-edit`),
// so the same checks and the audit log apply; a form below defines a new share. Read-only callers get the
// table alone.

import type { ShareRow } from "../store/shares.js";
import { html, rpcButton, type Html } from "./html.js";

function burstText(r: ShareRow): Html | string {
  if (r.burst === "") return html`<span class="muted">none</span>`;
  return r.burst.endsWith("%") ? `${r.burst} (${r.burstSlots ?? "?"} slots)` : r.burst;
}

/** The inputs of one share's form: weight, guarantee, burst (slots or N%, empty for none), users. */
function shareFields(r: ShareRow | null): Html {
  return html`<input
      name="weight"
      type="number"
      min="0"
      step="any"
      size="4"
      title="weight"
      placeholder="weight"
      value="${r ? String(r.weight) : "1"}"
      required
    />
    <input
      name="guarantee"
      type="number"
      min="0"
      step="1"
      size="4"
      title="guaranteed slots"
      placeholder="guarantee"
      value="${r ? String(r.guarantee) : "0"}"
    />
    <input
      name="burst"
      size="6"
      title="burst maximum: slots or N% of the farm, empty for none"
      placeholder="burst"
      value="${r?.burst ?? ""}"
    />
    <input
      name="users"
      size="16"
      title="users mapped to the share (comma-separated)"
      placeholder="users"
      value="${r ? r.users.join(", ") : ""}"
    />`;
}

export function sharesTable(rows: readonly ShareRow[], canEdit: boolean): Html {
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
          ${canEdit ? html`<th>Edit</th>` : ""}
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
              <td class="num">${burstText(r)}</td>
              <td>${r.users.join(", ")}</td>
              ${
                canEdit
                  ? html`<td>
                      <form class="share-edit" data-share="${r.name}">
                        ${shareFields(r)}
                        <button type="submit">Save</button>
                        ${
                          r.name === "default"
                            ? ""
                            : rpcButton("Remove", "removeShare", [r.name], {
                                confirm: `Remove share ${r.name}? Its jobs run in share default from then on.`,
                              })
                        }
                      </form>
                    </td>`
                  : ""
              }
            </tr>`,
        )}
      </tbody>
    </table>
    ${
      canEdit
        ? html`<form class="share-edit" id="share-new">
            <input name="name" size="12" placeholder="new share" required />
            ${shareFields(null)}
            <button type="submit">Define share</button>
          </form>`
        : ""
    }`;
}
