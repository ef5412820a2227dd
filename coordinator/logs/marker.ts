// Start-up checks of job_logs_dir, before the coordinator serves anything: the folder must be writable (a
// probe file written, fsynced, renamed and removed), and it must be the folder the farm's other coordinators
// use. The first coordinator of a farm puts a random marker in Redis ({p}logs:marker) and the same text in
// <dir>/<farm>/.openhq-marker; a coordinator that finds the Redis marker but not the same file (the share is
// not mounted there, or it is another farm's folder) refuses to start. The first coordinator of a new farm
// (a fresh Redis) that finds an earlier farm's folder moves it aside and starts an empty one.

import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../config.js";
import { claimLogMarker, dropLogMarker, type LogRedis } from "../store/logs.js";
import { fsyncDir } from "./files.js";

export class LogDirError extends ConfigError {}

const MARKER_FILE = ".openhq-marker";
/** A marker this young may still be on its way to the folder from the coordinator that made it. */
const FRESH_MS = 30_000;
const WAIT_MS = 10_000;

/** Returns what the caller should log (an earlier farm's logs moved aside). */
export async function checkLogDir(ctx: LogRedis, dir: string, farmDir: string): Promise<string[]> {
  const notices: string[] = [];
  try {
    await mkdir(farmDir, { recursive: true });
    await writeDurably(join(farmDir, `.probe-${randomBytes(6).toString("hex")}`), "probe\n", true);
  } catch (err) {
    throw new LogDirError(`job_logs_dir ${dir} is not writable: ${(err as Error).message}`);
  }
  const key = ctx.keys.logsMarker;
  const mine = `${randomBytes(16).toString("hex")} ${Date.now()}`;
  const { marker, made } = await claimLogMarker(ctx, mine);
  const path = join(farmDir, MARKER_FILE);
  if (made) {
    const existing = await readMarker(path);
    if (existing !== null && existing !== marker) {
      // A new farm (this Redis had no marker) over an earlier farm's logs: job ids start again at 1, so the
      // old files are moved aside whole, never overwritten, and the new farm starts an empty folder.
      const aside = `${farmDir}.superseded-${Date.now()}`;
      try {
        await rename(farmDir, aside);
        await mkdir(farmDir, { recursive: true });
      } catch (err) {
        await dropLogMarker(ctx);
        throw new LogDirError(
          `job_logs_dir ${dir} holds an earlier farm's logs that could not be moved aside: ${(err as Error).message}`,
        );
      }
      notices.push(`job_logs_dir: an earlier farm's logs were moved aside to ${aside}`);
    }
    await writeDurably(path, marker, false);
    return notices;
  }
  const created = Number(marker.split(" ")[1] ?? 0);
  const deadline = Date.now() + (Date.now() - created < FRESH_MS ? WAIT_MS : 0);
  for (;;) {
    const found = await readMarker(path);
    if (found === marker) return notices;
    if (found !== null) throw mismatch(dir, key, "holds another farm's marker");
    if (Date.now() >= deadline) throw mismatch(dir, key, `has no ${MARKER_FILE}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function mismatch(dir: string, key: string, why: string): LogDirError {
  return new LogDirError(
    `job_logs_dir ${dir} is not the job log folder the other coordinators of this farm use: it ${why}. ` +
      `Mount the shared log folder there (or point job_logs_dir at it). If the farm's logs really moved to ` +
      `a new empty folder, delete the Redis key ${key} and start again.`,
  );
}

async function readMarker(path: string): Promise<string | null> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** temp file, fsync, rename, fsync of the folder (`remove`: then delete it again: a probe). */
async function writeDurably(path: string, text: string, remove: boolean): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  const file = await open(temp, "w", 0o644);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  if (remove) await rm(path);
  await fsyncDir(join(path, ".."));
}
