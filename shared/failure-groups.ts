// Failed frames grouped by why they failed (the dashboard's failures panel, `openhq job ID --failures`):
// each job's lastError with numbers and paths folded, so "missing texture /tex/wall_0012.exr" and "missing
// texture /tex/floor_0007.exr" are one message with a count.

/** Bytes (UTF-8) a group's key keeps at most; longer ones are cut on a character boundary. */
const MAX_KEY_BYTES = 300;

/**
 * The message with words holding a slash (paths) made `<path>` and numbers `N`, whitespace collapsed. The
 * coordinator keeps the same rule in Lua (coordinator/store/lua/includes/kidsIndex.lua failureKey), where the
 * failures panel's counts are maintained: words split at ASCII whitespace, the key cut by bytes.
 */
export function normalizeFailure(message: string): string {
  // Word by word: one pass, no backtracking regex over the whole line (100,000 frames a refresh).
  const key = message
    .split(/[ \t\n\v\f\r]+/)
    .filter((word) => word !== "")
    .map((word) =>
      word.includes("/") || word.includes("\\") ? "<path>" : word.replace(/\d+(?:\.\d+)?/g, "N"),
    )
    .join(" ");
  const bytes = new TextEncoder().encode(key);
  if (bytes.length <= MAX_KEY_BYTES) return key;
  let cut = MAX_KEY_BYTES;
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--;
  return new TextDecoder().decode(bytes.subarray(0, cut));
}

export interface FailureGroup {
  /** the normalized message: the group's key */
  message: string;
  count: number;
  /** one of the raw messages, as printed */
  example: string;
  /** the first few jobs of the group */
  ids: number[];
}

const IDS_PER_GROUP = 5;

/** Groups by normalized message, largest first (then by message); a job without a message is "(no message)". */
export function groupFailures(failures: { id: number; message: string }[]): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const { id, message } of failures) {
    const key = normalizeFailure(message) || "(no message)";
    let group = groups.get(key);
    if (!group) {
      group = { message: key, count: 0, example: message, ids: [] };
      groups.set(key, group);
    }
    group.count++;
    if (group.ids.length < IDS_PER_GROUP) group.ids.push(id);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.message.localeCompare(b.message));
}
