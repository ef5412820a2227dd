// Writes a StreamedText result (types.ts) as a methodResponse whose one string is escaped as its bytes are
// read: memory stays a few buffers whatever the size. The reply is chunked (its length is not known before
// it is escaped), and gzipped when the client accepts it. Python's xmlrpc.client reads both.

import type { ServerResponse } from "node:http";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import { createGzip } from "node:zlib";
import { escapeXml, RESPONSE_CLOSE, RESPONSE_OPEN } from "./encode.js";
import type { StreamedText } from "./types.js";

/** UTF-8 bytes in, the XML text of a string out: characters split across chunks are kept whole. */
class XmlStringEscaper extends Transform {
  private readonly decoder = new StringDecoder("utf8");

  constructor() {
    super();
    this.push(RESPONSE_OPEN);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const text = this.decoder.write(chunk);
    done(null, text === "" ? undefined : escapeXml(text));
  }

  override _flush(done: TransformCallback): void {
    const rest = this.decoder.end();
    if (rest !== "") this.push(escapeXml(rest));
    done(null, RESPONSE_CLOSE);
  }
}

/** Sends `text` as the reply; rejects (the response destroyed) when the source fails part-way. */
export async function sendStreamedText(
  res: ServerResponse,
  text: StreamedText,
  gzip: boolean,
  gzipLevel: number,
): Promise<void> {
  res.writeHead(200, {
    "content-type": "text/xml; charset=utf-8",
    ...(gzip ? { "content-encoding": "gzip" } : {}),
  });
  const escaper = new XmlStringEscaper();
  if (gzip) await pipeline(text.open(), escaper, createGzip({ level: gzipLevel }), res);
  else await pipeline(text.open(), escaper, res);
}
