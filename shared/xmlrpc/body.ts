// Reading an HTTP body for the XML-RPC codec: bounded in size before and after gunzip, then decoded to text.
// Shared by the server (requests) and the client (replies).

import type { IncomingMessage } from "node:http";
import { gunzip } from "node:zlib";
import { Fault, FaultCode } from "./types.js";

/** The body (raw or unzipped) is larger than allowed: the server answers 413. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Collects a message's body and calls `done` once: with BodyTooLargeError as soon as it passes `limit` bytes
 * (from Content-Length or counting), with the stream's error (a client gone mid-body), or with the body.
 * Callback-shaped because it is on every request's path.
 */
export function collectBody(
  message: IncomingMessage,
  limit: number,
  done: (err: Error | null, body: Buffer) => void,
): void {
  if (Number(message.headers["content-length"]) > limit) {
    done(new BodyTooLargeError(limit), EMPTY);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const stop = (err: Error): void => {
    message.off("data", onData);
    message.off("end", onEnd);
    message.off("error", stop);
    done(err, EMPTY);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limit) stop(new BodyTooLargeError(limit));
    else chunks.push(chunk);
  };
  const onEnd = (): void => {
    message.off("error", stop);
    done(null, chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size));
  };
  message.on("data", onData);
  message.on("end", onEnd);
  message.on("error", stop);
}

export function readBody(message: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    collectBody(message, limit, (err, body) => (err ? reject(err) : resolve(body))),
  );
}

/** Undoes `Content-Encoding` (identity or gzip), keeping the result within `limit` bytes. */
export function decodeContent(body: Buffer, encoding: string | undefined, limit: number): Promise<Buffer> {
  const coding = (encoding ?? "").trim().toLowerCase();
  if (coding === "" || coding === "identity") return Promise.resolve(body);
  if (coding !== "gzip" && coding !== "x-gzip")
    return Promise.reject(
      new Fault(FaultCode.parse, `unsupported Content-Encoding ${JSON.stringify(coding)}`),
    );
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: limit }, (err, out) => {
      if (!err) resolve(out);
      else if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
        reject(new BodyTooLargeError(limit));
      else reject(new Fault(FaultCode.parse, `parse error: body is not valid gzip (${err.message})`));
    });
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const DECLARED_ENCODING = /^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/;

/**
 * The body as text. UTF-8 (the XML default, what every client here sends) unless the XML declaration
 * names ISO-8859-1 (old Python 2 scripts); invalid UTF-8 or another encoding is a Fault, never U+FFFD.
 */
export function bodyText(body: Buffer): string {
  const declared = DECLARED_ENCODING.exec(body.subarray(0, 200).toString("latin1"))?.[1]?.toLowerCase();
  if (
    declared === undefined ||
    declared === "utf-8" ||
    declared === "utf8" ||
    declared === "us-ascii" ||
    declared === "ascii"
  ) {
    try {
      return utf8.decode(body);
    } catch {
      throw new Fault(FaultCode.parse, "parse error: body is not valid UTF-8");
    }
  }
  if (declared === "iso-8859-1" || declared === "latin-1" || declared === "latin1")
    return body.toString("latin1");
  throw new Fault(FaultCode.parse, `parse error: unsupported encoding ${JSON.stringify(declared)}`);
}
