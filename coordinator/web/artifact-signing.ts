// The agent artifact is signed, so an agent upgrading itself trusts the farm's key, not the channel: an
// ed25519 key made by the first coordinator of a farm and kept in Redis beside the farm secret
// ({p}farm:signingKey, SET NX, so every coordinator of the farm signs with the same key). Installers pin its
// public key in hqnode.ini (`signingKey`); the agent checks an upgrade's signature against that pin
// (agent/upgrade.ts). Anyone who can read that Redis owns the farm anyway.
//
// Served under /install/: openhq-agent.mjs.sig (the signature, base64) and signing-key.pub (the public key,
// base64 SPKI DER: one line that fits in an ini value).

import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { stat, readFile } from "node:fs/promises";
import type { Context } from "../context.js";
import { setOnce } from "../store/set-once.js";

interface Signer {
  privateKey: KeyObject;
  /** base64 SPKI DER of the public key. */
  publicKey: string;
}

const signers = new WeakMap<Context, Promise<Signer>>();

async function loadSigner(ctx: Context): Promise<Signer> {
  const fresh = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const { kept } = await setOnce(ctx.redis, ctx.keys.farmSigningKey, fresh);
  const privateKey = createPrivateKey(kept);
  const publicKey = createPublicKey(privateKey).export({ format: "der", type: "spki" }).toString("base64");
  return { privateKey, publicKey };
}

/** The farm's signing key, made on first use (a coordinator asks at start, so it exists before any install). */
export function farmSigner(ctx: Context): Promise<Signer> {
  let signer = signers.get(ctx);
  if (signer === undefined) {
    signer = loadSigner(ctx);
    // A failed read (Redis down) is tried again on the next request.
    signer.catch(() => signers.delete(ctx));
    signers.set(ctx, signer);
  }
  return signer;
}

/** The public key installers pin (base64 SPKI DER). */
export async function farmPublicKey(ctx: Context): Promise<string> {
  return (await farmSigner(ctx)).publicKey;
}

const signatures = new Map<string, { stamp: string; signature: string }>();

/** The base64 ed25519 signature of `file`, kept until the file changes (a rebuild). */
export async function signatureOf(ctx: Context, file: string): Promise<string> {
  const info = await stat(file);
  const { privateKey, publicKey } = await farmSigner(ctx);
  const stamp = `${publicKey}:${info.mtimeMs}:${info.size}:${info.ino}`;
  const cached = signatures.get(file);
  if (cached !== undefined && cached.stamp === stamp) return cached.signature;
  const signature = sign(null, await readFile(file), privateKey).toString("base64");
  signatures.set(file, { stamp, signature });
  return signature;
}
