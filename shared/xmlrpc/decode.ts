// Reads XML-RPC documents (methodCall, methodResponse with params or fault) with saxes into XmlRpcValues.
//
// Lenient where other implementations are (like Python's Unmarshaller): a <value> with bare text is a
// string, namespace prefixes are ignored (<ex:nil/>, <ex:i8>), i1/i2/biginteger are ints and float is a
// double, <array> may omit <data>, dates come in several ISO forms (datetime.ts). Strict everywhere else:
// any unknown element, stray text, bad scalar, DOCTYPE, or nesting deeper than `maxDepth` is a
// Fault(FaultCode.parse) naming the problem. Nothing here can throw anything but a Fault.

import { SaxesParser } from "saxes";
import { parseDateTime } from "./datetime.js";
import { Fault, FaultCode, type XmlRpcStruct, type XmlRpcValue } from "./types.js";

export interface DecodeOptions {
  /** Deepest element nesting accepted (the methodCall element is depth 1). Default 64. */
  maxDepth?: number;
}

export interface MethodCall {
  methodName: string;
  params: XmlRpcValue[];
}

export type MethodResponse = { fault: Fault; value?: undefined } | { fault?: undefined; value: XmlRpcValue };

export const DEFAULT_MAX_DEPTH = 64;

type Kind =
  | "methodCall"
  | "methodResponse"
  | "methodName"
  | "params"
  | "param"
  | "fault"
  | "value"
  | "struct"
  | "member"
  | "name"
  | "array"
  | "data"
  | "int"
  | "boolean"
  | "string"
  | "double"
  | "dateTime"
  | "base64"
  | "nil";

const KINDS: Record<string, Kind> = {
  methodCall: "methodCall",
  methodResponse: "methodResponse",
  methodName: "methodName",
  params: "params",
  param: "param",
  fault: "fault",
  value: "value",
  struct: "struct",
  member: "member",
  name: "name",
  array: "array",
  data: "data",
  int: "int",
  i1: "int",
  i2: "int",
  i4: "int",
  i8: "int",
  biginteger: "int",
  boolean: "boolean",
  string: "string",
  double: "double",
  float: "double",
  "dateTime.iso8601": "dateTime",
  base64: "base64",
  nil: "nil",
};

const TYPES: readonly Kind[] = [
  "int",
  "boolean",
  "string",
  "double",
  "dateTime",
  "base64",
  "nil",
  "struct",
  "array",
];

const CHILDREN: Partial<Record<Kind, ReadonlySet<Kind>>> = {
  methodCall: new Set(["methodName", "params"]),
  methodResponse: new Set(["params", "fault"]),
  params: new Set(["param"]),
  param: new Set(["value"]),
  fault: new Set(["value"]),
  value: new Set(TYPES),
  struct: new Set(["member"]),
  member: new Set(["name", "value"]),
  array: new Set(["data", "value"]),
  data: new Set(["value"]),
};

/** Elements whose text is their content; everywhere else only whitespace may appear between elements. */
const TEXTUAL: Record<Kind, boolean> = {
  methodCall: false,
  methodResponse: false,
  methodName: true,
  params: false,
  param: false,
  fault: false,
  value: true,
  struct: false,
  member: false,
  name: true,
  array: false,
  data: false,
  int: true,
  boolean: true,
  string: true,
  double: true,
  dateTime: true,
  base64: true,
  nil: true,
};

interface Frame {
  kind: Kind;
  text: string;
  /** value/param/fault/member: the value received; struct/array/params: unused. */
  value: XmlRpcValue | undefined;
  has: boolean;
  name: string | undefined;
  items: XmlRpcValue[] | undefined;
  obj: XmlRpcStruct | undefined;
}

class ParseError extends Error {}

function fail(message: string): never {
  throw new ParseError(message);
}

// Every pattern here runs on client text: none may backtrack more than linearly (no overlapping repeats).
const INT = /^[+-]?\d+$/;
/** Python's own limit on the digits of an int parsed from text (sys.int_info.default_max_str_digits). */
const MAX_INT_DIGITS = 4300;
const DOUBLE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_DOUBLES: Record<string, number> = {
  inf: Infinity,
  "+inf": Infinity,
  "-inf": -Infinity,
  infinity: Infinity,
  "+infinity": Infinity,
  "-infinity": -Infinity,
  nan: NaN,
  "+nan": NaN,
  "-nan": NaN,
};
const WHITESPACE = /\s+/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function scalar(kind: Kind, raw: string): XmlRpcValue {
  const text = kind === "string" ? raw : raw.trim();
  switch (kind) {
    case "string":
      return text;
    case "int": {
      if (!INT.test(text)) fail(`bad integer ${JSON.stringify(text.slice(0, 40))}`);
      if (text.length > MAX_INT_DIGITS + 1) fail(`integer longer than ${MAX_INT_DIGITS} digits`);
      const n = Number(text);
      return Number.isSafeInteger(n) ? n || 0 : BigInt(text);
    }
    case "boolean":
      if (text === "1" || text === "true") return true;
      if (text === "0" || text === "false") return false;
      return fail(`bad boolean ${JSON.stringify(text.slice(0, 40))}`);
    case "double": {
      if (DOUBLE.test(text)) return Number(text);
      const special = SPECIAL_DOUBLES[text.toLowerCase()];
      return special ?? fail(`bad double ${JSON.stringify(text.slice(0, 40))}`);
    }
    case "dateTime":
      return parseDateTime(text) ?? fail(`bad dateTime.iso8601 ${JSON.stringify(text.slice(0, 40))}`);
    case "base64": {
      const compact = text.replace(WHITESPACE, "");
      if (!BASE64.test(compact)) fail("bad base64");
      return Buffer.from(compact, "base64");
    }
    case "nil":
      if (text !== "") fail("<nil/> must be empty");
      return null;
    default:
      return fail(`<${kind}> is not a scalar`);
  }
}

function setMember(obj: XmlRpcStruct, key: string, value: XmlRpcValue): void {
  // A plain assignment of "__proto__" would replace the object's prototype instead of adding a member.
  if (key === "__proto__")
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

function newFrame(kind: Kind): Frame {
  return { kind, text: "", value: undefined, has: false, name: undefined, items: undefined, obj: undefined };
}

interface Document {
  root: Kind | undefined;
  methodName: string | undefined;
  params: XmlRpcValue[] | undefined;
  fault: XmlRpcValue | undefined;
  hasFault: boolean;
}

function parseDocument(xml: string, maxDepth: number): Document {
  const doc: Document = {
    root: undefined,
    methodName: undefined,
    params: undefined,
    fault: undefined,
    hasFault: false,
  };
  const stack: Frame[] = [];
  const parser = new SaxesParser({ position: true });

  const deliver = (target: Frame, value: XmlRpcValue): void => {
    if (target.items) {
      target.items.push(value);
      return;
    }
    if (target.has) fail(`<${target.kind}> holds more than one value`);
    target.value = value;
    target.has = true;
  };

  parser.on("doctype", () => fail("DOCTYPE is not allowed"));
  parser.on("opentag", (tag) => {
    const colon = tag.name.indexOf(":");
    const local = colon < 0 ? tag.name : tag.name.slice(colon + 1);
    const kind = KINDS[local];
    if (kind === undefined) fail(`unknown element <${tag.name}>`);
    const parent = stack[stack.length - 1];
    if (parent === undefined) {
      if (kind !== "methodCall" && kind !== "methodResponse") fail(`unexpected root element <${tag.name}>`);
      doc.root = kind;
    } else {
      if (!CHILDREN[parent.kind]?.has(kind)) fail(`<${tag.name}> is not allowed inside <${parent.kind}>`);
      if (parent.kind === "value" && parent.has) fail("<value> holds more than one value");
    }
    if (stack.length >= maxDepth) fail(`elements nested deeper than ${maxDepth}`);
    const frame = newFrame(kind);
    if (kind === "params" || kind === "array") frame.items = [];
    else if (kind === "data" && parent) frame.items = parent.items;
    else if (kind === "struct") frame.obj = {};
    stack.push(frame);
  });
  const onText = (text: string): void => {
    const top = stack[stack.length - 1];
    if (top && TEXTUAL[top.kind]) top.text += text;
    else if (text.trim() !== "") fail(`unexpected text ${JSON.stringify(text.slice(0, 40))}`);
  };
  parser.on("text", onText);
  parser.on("cdata", onText);
  parser.on("closetag", () => {
    const frame = stack.pop();
    if (frame === undefined) return fail("unbalanced close tag");
    const parent = stack[stack.length - 1];
    switch (frame.kind) {
      case "methodName":
        if (doc.methodName !== undefined) fail("more than one <methodName>");
        doc.methodName = frame.text.trim();
        return;
      case "name":
        if (parent?.name !== undefined) fail("<member> has more than one <name>");
        if (parent) parent.name = frame.text;
        return;
      case "value": {
        let value: XmlRpcValue;
        if (frame.has) {
          if (frame.text.trim() !== "") fail("<value> mixes text and a typed element");
          value = frame.value ?? null;
        } else value = frame.text;
        if (parent) deliver(parent, value);
        return;
      }
      case "param":
        if (!frame.has) fail("<param> without a <value>");
        parent?.items?.push(frame.value ?? null);
        return;
      case "params":
        if (doc.params !== undefined || doc.hasFault) fail(`<${parent?.kind}> has more than one result`);
        doc.params = frame.items;
        return;
      case "fault":
        if (!frame.has) fail("<fault> without a <value>");
        if (doc.params !== undefined || doc.hasFault) fail("<methodResponse> has more than one result");
        doc.fault = frame.value;
        doc.hasFault = true;
        return;
      case "member":
        if (frame.name === undefined) fail("<member> without a <name>");
        if (!frame.has) fail("<member> without a <value>");
        if (parent?.obj) setMember(parent.obj, frame.name, frame.value ?? null);
        return;
      case "struct":
        if (parent && frame.obj) deliver(parent, frame.obj);
        return;
      case "array":
        if (parent && frame.items) deliver(parent, frame.items);
        return;
      case "data":
      case "methodCall":
      case "methodResponse":
        return;
      default:
        if (parent) deliver(parent, scalar(frame.kind, frame.text));
    }
  });
  parser.write(xml).close();
  if (doc.root === undefined) fail("no root element");
  return doc;
}

function toFault(err: unknown): Fault {
  if (err instanceof Fault) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new Fault(FaultCode.parse, `parse error: ${message}`);
}

/** Parses a request body. Throws Fault(FaultCode.parse) for anything that is not a valid methodCall. */
export function decodeMethodCall(xml: string, options: DecodeOptions = {}): MethodCall {
  try {
    const doc = parseDocument(xml, options.maxDepth ?? DEFAULT_MAX_DEPTH);
    if (doc.root !== "methodCall") fail("expected a <methodCall>");
    if (doc.methodName === undefined || doc.methodName === "") fail("<methodCall> without a <methodName>");
    return { methodName: doc.methodName, params: doc.params ?? [] };
  } catch (err) {
    throw toFault(err);
  }
}

/** Parses a reply body into its value or its Fault. Throws Fault(FaultCode.parse) for a malformed one. */
export function decodeMethodResponse(xml: string, options: DecodeOptions = {}): MethodResponse {
  let doc: Document;
  try {
    doc = parseDocument(xml, options.maxDepth ?? DEFAULT_MAX_DEPTH);
    if (doc.root !== "methodResponse") fail("expected a <methodResponse>");
  } catch (err) {
    throw toFault(err);
  }
  if (doc.hasFault) {
    const f = doc.fault;
    if (f === null || typeof f !== "object" || Array.isArray(f) || f instanceof Date || Buffer.isBuffer(f))
      throw new Fault(FaultCode.parse, "parse error: <fault> does not hold a struct");
    const code = f["faultCode"];
    const text = f["faultString"];
    const faultCode = typeof code === "number" ? code : typeof code === "bigint" ? Number(code) : NaN;
    if (!Number.isFinite(faultCode))
      throw new Fault(FaultCode.parse, "parse error: fault without an integer faultCode");
    return { fault: new Fault(faultCode, typeof text === "string" ? text : String(text ?? "")) };
  }
  if (doc.params?.length !== 1)
    throw new Fault(FaultCode.parse, "parse error: a response must hold exactly one <param>");
  return { value: doc.params[0] ?? null };
}
