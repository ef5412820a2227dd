// Lists the store keeps as JSON text in hash fields (a client's rules, groups and GPUs; a job's tags and
// conditions), read leniently: they were validated on the way in, so anything malformed counts as empty.

/** The list `json` holds: empty when the field is unset, not JSON or not a list. */
export function jsonList(json: string | null | undefined): unknown[] {
  if (!json) return [];
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}
