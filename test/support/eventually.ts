// The one way a test waits for something: poll a condition until it holds, with a generous deadline (a
// loaded machine is slow, never wrong), never a fixed sleep. The timeout names what was awaited, the last
// error the probe threw and, for until(), the last value read.

/**
 * Polls `probe` until it answers something other than undefined or false, and returns that; a probe that
 * throws counts as "not yet" (the server may still be starting).
 */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 120_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > end) {
      const cause =
        lastError === undefined ? "" : ` (last error: ${(lastError as Error).message ?? lastError})`;
      throw new Error(`timed out after ${ms} ms waiting for ${what}${cause}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** eventually() for a value `read` until `ok` accepts it (which may be falsy); returns that value. */
export async function until<T>(
  what: string,
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  ms?: number,
): Promise<T> {
  let last: { value: T } | undefined;
  try {
    const accepted = await eventually(
      what,
      async () => {
        last = { value: await read() };
        return ok(last.value) ? last : undefined;
      },
      ms,
    );
    return accepted.value;
  } catch (err) {
    throw new Error(`${(err as Error).message}; last read: ${last ? JSON.stringify(last.value) : "none"}`, {
      cause: err,
    });
  }
}
