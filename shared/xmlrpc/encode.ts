// Writes XML-RPC documents: methodCall, methodResponse and fault, compact and UTF-8.
//
// Strings: `&`, `<`, `>` are escaped, and `\r` is written as `&#13;` so it survives XML's line-end
// normalisation. Characters XML 1.0 does not allow at all (C0 controls other than tab/LF/CR, lone
// surrogates, U+FFFE, U+FFFF) are replaced by U+FFFD: Python's expat would reject the whole reply
// otherwise, and a visible replacement keeps the text's length and shows where something was lost
// (render logs carry the odd ANSI escape). See types.ts for how JS values map to XML-RPC types.

import { formatDateTime } from "./datetime.js";
import type { XmlRpcValue } from "./types.js";

// eslint-disable-next-line no-control-regex -- matching the control characters XML forbids is the point
const SPECIAL = /[&<>\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/u;
// eslint-disable-next-line no-control-regex -- as above
const SPECIAL_ALL = /[&<>\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/gu;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** Deeper than any real value; stops a cyclic object from overflowing the stack. */
const MAX_DEPTH = 512;

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

function encodeNumber(n: number): string {
  if (Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX) return `<int>${n === 0 ? 0 : n}</int>`;
  if (Number.isSafeInteger(n)) return `<i8>${n}</i8>`;
  if (Number.isNaN(n)) return "<double>nan</double>";
  if (!Number.isFinite(n)) return n > 0 ? "<double>inf</double>" : "<double>-inf</double>";
  return `<double>${n}</double>`;
}

function encodeInner(v: XmlRpcValue | undefined, depth: number): string {
  if (v === null || v === undefined) return "<nil/>";
  switch (typeof v) {
    case "string":
      return `<string>${escapeXml(v)}</string>`;
    case "number":
      return encodeNumber(v);
    case "boolean":
      return v ? "<boolean>1</boolean>" : "<boolean>0</boolean>";
    case "bigint":
      return v >= INT32_MIN && v <= INT32_MAX ? `<int>${v}</int>` : `<i8>${v}</i8>`;
    case "object":
      break;
    default:
      throw new TypeError(`cannot encode a ${typeof v} as XML-RPC`);
  }
  if (depth > MAX_DEPTH) throw new TypeError("value is nested too deeply (or cyclic) to encode");
  if (Array.isArray(v)) {
    let out = "<array><data>";
    for (const item of v) out += `<value>${encodeInner(item, depth + 1)}</value>`;
    return out + "</data></array>";
  }
  if (v instanceof Date) return `<dateTime.iso8601>${formatDateTime(v)}</dateTime.iso8601>`;
  if (v instanceof Uint8Array) {
    // Any byte view (not only a Buffer) is binary data.
    return `<base64>${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")}</base64>`;
  }
  let out = "<struct>";
  for (const key of Object.keys(v)) {
    const member = v[key];
    if (member === undefined) continue;
    out += `<member><name>${escapeXml(key)}</name><value>${encodeInner(member, depth + 1)}</value></member>`;
  }
  return out + "</struct>";
}

/** One value's type element, e.g. `<int>5</int>` (without the surrounding `<value>`). */
export function encodeValue(v: XmlRpcValue | undefined): string {
  return encodeInner(v, 0);
}

const HEAD = '<?xml version="1.0"?>\n';

export function encodeMethodCall(method: string, params: readonly (XmlRpcValue | undefined)[]): string {
  let out = `${HEAD}<methodCall><methodName>${escapeXml(method)}</methodName><params>`;
  for (const p of params) out += `<param><value>${encodeInner(p, 0)}</value></param>`;
  return out + "</params></methodCall>";
}

export function encodeMethodResponse(result: XmlRpcValue | undefined): string {
  return `${HEAD}<methodResponse><params><param><value>${encodeInner(result, 0)}</value></param></params></methodResponse>`;
}

export function encodeFault(faultCode: number, faultString: string): string {
  const code = Number.isSafeInteger(faultCode) ? faultCode : 1;
  return (
    `${HEAD}<methodResponse><fault><value><struct>` +
    `<member><name>faultCode</name><value><int>${code}</int></value></member>` +
    `<member><name>faultString</name><value><string>${escapeXml(faultString)}</string></value></member>` +
    `</struct></value></fault></methodResponse>`
  );
}
