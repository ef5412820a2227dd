// Writes XML-RPC documents: methodCall, methodResponse and fault, compact and UTF-8.
//
// Strings: `&`, `<`, `>` are escaped, and `\r` is written as `&#13;` so it survives XML's line-end
// normalisation. Characters XML 1.0 does not allow at all (C0 controls other than tab/LF/CR, lone
// surrogates, U+FFFE, U+FFFF) are replaced by U+FFFD: Python's expat would reject the whole reply
// otherwise, and a visible replacement keeps the text's length and shows where something was lost
// (render logs carry the odd ANSI escape). A string goes out as a bare `<value>text</value>`, which the
// XML-RPC spec and every Python xmlrpc version read as a string: a getJobs reply is 6% shorter without the
// `<string>` tags. See types.ts for how JS values map to XML-RPC types.
//
// Big replies (a getJobs of 10,000 jobs is 30 MB) are written as UTF-8 in chunks of CHUNK characters
// (`encodeMethodResponseBody`): one 30 MB string built by `+=` is a tree of millions of short-lived
// pieces that the garbage collector copies around and that must be flattened again before it can be sent;
// chunks die young and go out as they are.

import { formatDateTime } from "./datetime.js";
import { DOUBLE_MEMBERS, type XmlRpcStruct, type XmlRpcValue } from "./types.js";

// eslint-disable-next-line no-control-regex -- matching the control characters XML forbids is the point
const SPECIAL = /[&<>\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/u;
// eslint-disable-next-line no-control-regex -- as above
const SPECIAL_ALL = /[&<>\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/gu;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** Deeper than any real value; stops a cyclic object from overflowing the stack. */
const MAX_DEPTH = 512;
/** Characters collected before they are turned into bytes (see the top of the file). */
const CHUNK = 64 * 1024;

function replacement(ch: string): string {
  switch (ch) {
    case "&":
      return "&amp;";
    case "<":
      return "&lt;";
    case ">":
      return "&gt;";
    case "\r":
      return "&#13;";
    default:
      return "\ufffd";
  }
}

export function escapeXml(text: string): string {
  return SPECIAL.test(text) ? text.replace(SPECIAL_ALL, replacement) : text;
}

function encodeDouble(n: number): string {
  if (Number.isNaN(n)) return "<double>nan</double>";
  if (!Number.isFinite(n)) return n > 0 ? "<double>inf</double>" : "<double>-inf</double>";
  // A whole number prints without a point ("1"); Python reads <double>1</double> as 1.0 all the same.
  return `<double>${n}</double>`;
}

function encodeNumber(n: number): string {
  if (Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX) return `<int>${n === 0 ? 0 : n}</int>`;
  if (Number.isSafeInteger(n)) return `<i8>${n}</i8>`;
  return encodeDouble(n);
}

/** Collects the text of a document, as one string or (with a finite `chunk`) as UTF-8 chunks. */
class Writer {
  private text = "";
  private readonly chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly chunk: number) {}

  add(piece: string): void {
    this.text += piece;
    if (this.text.length >= this.chunk) this.flush();
  }

  string(): string {
    return this.text;
  }

  /** What was written: the string itself while it is shorter than a chunk, else its UTF-8 bytes. */
  body(): string | Buffer {
    if (this.chunks.length === 0) return this.text;
    this.flush();
    return Buffer.concat(this.chunks, this.bytes);
  }

  private flush(): void {
    const bytes = Buffer.from(this.text, "utf8");
    this.chunks.push(bytes);
    this.bytes += bytes.length;
    this.text = "";
  }
}

/** Writes one value's content (what goes between `<value>` and `</value>`). */
function write(out: Writer, v: XmlRpcValue | undefined, depth: number): void {
  if (v === null || v === undefined) return out.add("<nil/>");
  switch (typeof v) {
    case "string":
      return out.add(escapeXml(v));
    case "number":
      return out.add(encodeNumber(v));
    case "boolean":
      return out.add(v ? "<boolean>1</boolean>" : "<boolean>0</boolean>");
    case "bigint":
      return out.add(v >= INT32_MIN && v <= INT32_MAX ? `<int>${v}</int>` : `<i8>${v}</i8>`);
    case "object":
      break;
    default:
      throw new TypeError(`cannot encode a ${typeof v} as XML-RPC`);
  }
  if (depth > MAX_DEPTH) throw new TypeError("value is nested too deeply (or cyclic) to encode");
  if (Array.isArray(v)) {
    out.add("<array><data>");
    for (const item of v) {
      out.add("<value>");
      write(out, item, depth + 1);
      out.add("</value>");
    }
    return out.add("</data></array>");
  }
  if (v instanceof Date) return out.add(`<dateTime.iso8601>${formatDateTime(v)}</dateTime.iso8601>`);
  if (v instanceof Uint8Array) {
    // Any byte view (not only a Buffer) is binary data.
    const base64 = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
    return out.add(`<base64>${base64}</base64>`);
  }
  const doubles = (v as { [DOUBLE_MEMBERS]?: readonly string[] })[DOUBLE_MEMBERS];
  out.add("<struct>");
  for (const key of Object.keys(v)) {
    const member = (v as XmlRpcStruct)[key];
    if (member === undefined) continue;
    out.add(`<member><name>${escapeXml(key)}</name><value>`);
    if (doubles !== undefined && typeof member === "number" && doubles.includes(key))
      out.add(encodeDouble(member));
    else write(out, member, depth + 1);
    out.add("</value></member>");
  }
  out.add("</struct>");
}

/** One value's content, e.g. `<int>5</int>` or bare text for a string (without the surrounding `<value>`). */
export function encodeValue(v: XmlRpcValue | undefined): string {
  const out = new Writer(Infinity);
  write(out, v, 0);
  return out.string();
}

const HEAD = '<?xml version="1.0"?>\n';

export function encodeMethodCall(method: string, params: readonly (XmlRpcValue | undefined)[]): string {
  const out = new Writer(Infinity);
  out.add(`${HEAD}<methodCall><methodName>${escapeXml(method)}</methodName><params>`);
  for (const p of params) {
    out.add("<param><value>");
    write(out, p, 0);
    out.add("</value></param>");
  }
  out.add("</params></methodCall>");
  return out.string();
}

/** What a methodResponse has before and after its one value (streamed replies write the value between). */
export const RESPONSE_OPEN = `${HEAD}<methodResponse><params><param><value>`;
export const RESPONSE_CLOSE = "</value></param></params></methodResponse>";

function response(out: Writer, result: XmlRpcValue | undefined): void {
  out.add(RESPONSE_OPEN);
  write(out, result, 0);
  out.add(RESPONSE_CLOSE);
}

export function encodeMethodResponse(result: XmlRpcValue | undefined): string {
  const out = new Writer(Infinity);
  response(out, result);
  return out.string();
}

const TRUE_RESPONSE = encodeMethodResponse(true);

/**
 * The reply body the server sends for `result`: the same document as encodeMethodResponse, as a string when
 * it is small and as UTF-8 bytes built in chunks when it is big (see the top of the file).
 */
export function encodeMethodResponseBody(result: XmlRpcValue | undefined): string | Buffer {
  // ping and most setters answer True: no need to write that again for every call.
  if (result === true) return TRUE_RESPONSE;
  const out = new Writer(CHUNK);
  response(out, result);
  return out.body();
}

export function encodeFault(faultCode: number, faultString: string): string {
  const code = Number.isSafeInteger(faultCode) ? faultCode : 1;
  return (
    `${HEAD}<methodResponse><fault><value><struct>` +
    `<member><name>faultCode</name><value><int>${code}</int></value></member>` +
    `<member><name>faultString</name><value>${escapeXml(faultString)}</value></member>` +
    `</struct></value></fault></methodResponse>`
  );
}
