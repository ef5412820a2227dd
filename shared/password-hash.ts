// Salted, slow password hashes for the coordinator's users (openhq.auth.users / usersFile), made by
// `openhq hash-password` and checked by coordinator/auth.ts. scrypt (node:crypto, no dependency):
//
//   scrypt:<N>:<r>:<p>:<salt, base64>:<key, base64>
//
// The parameters travel with the hash, so stronger ones can be chosen later without breaking old entries.
// Checking one costs tens of milliseconds and 16 MiB on purpose (it runs on libuv's thread pool, never on
// the event loop); auth.ts caches verified credentials so a script's calls do not each pay it.

import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

export const SCRYPT_PREFIX = "scrypt:";
const DEFAULT = { N: 16384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Bounds on stored parameters, so a hand-edited entry cannot make one login take seconds or gigabytes. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY = 512 * 1024 * 1024;

export interface ScryptHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function derive(password: string, salt: Buffer, N: number, r: number, p: number, length: number) {
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, length, { N, r, p, maxmem: MAX_MEMORY }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** A new hash of `password` with a random salt, in the stored form above. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, DEFAULT.N, DEFAULT.r, DEFAULT.p, KEY_BYTES);
  return `${SCRYPT_PREFIX}${DEFAULT.N}:${DEFAULT.r}:${DEFAULT.p}:${salt.toString("base64")}:${key.toString("base64")}`;
}

/** Reads a stored hash; throws an Error naming what is wrong when it is malformed or out of bounds. */
export function parseScryptHash(text: string): ScryptHash {
  const parts = text.slice(SCRYPT_PREFIX.length).split(":");
  const [n, r, p, salt, key] = parts;
  const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
  if (parts.length !== 5 || !salt || !key || !B64.test(salt) || !B64.test(key))
    throw new Error("expected scrypt:N:r:p:salt:key (from openhq hash-password)");
  const hash = {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt, "base64"),
    key: Buffer.from(key, "base64"),
  };
  const powerOfTwo = Number.isInteger(hash.N) && hash.N >= 2 && (hash.N & (hash.N - 1)) === 0;
  if (!powerOfTwo || hash.N > MAX_N) throw new Error(`scrypt N must be a power of two up to ${MAX_N}`);
  if (!Number.isInteger(hash.r) || hash.r < 1 || hash.r > MAX_R)
    throw new Error(`scrypt r must be 1 to ${MAX_R}`);
  if (!Number.isInteger(hash.p) || hash.p < 1 || hash.p > MAX_P)
    throw new Error(`scrypt p must be 1 to ${MAX_P}`);
  if (128 * hash.N * hash.r > MAX_MEMORY) throw new Error("scrypt N × r needs more than 512 MiB");
  if (hash.salt.length < 8 || hash.key.length < 16) throw new Error("scrypt salt or key too short");
  return hash;
}

/** Whether `password` matches `hash`, compared in constant time. */
export async function verifyPassword(password: string, hash: ScryptHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.N, hash.r, hash.p, hash.key.length);
  return timingSafeEqual(key, hash.key);
}
