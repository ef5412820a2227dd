// The values that cross the XML-RPC boundary, and the Fault that answers a bad call.
//
// Mapping: <int>/<i4>/<i8> -> number (bigint beyond 2^53), <boolean> -> boolean, <string> -> string,
// <double> -> number, <dateTime.iso8601> -> Date (naive, read and written as UTC "YYYYMMDDTHH:MM:SS"),
// <base64> -> Buffer, <struct> -> plain object, <array> -> array, <nil/> -> null.
// Encoding a JS number: integers within 32 bits go out as <int>, larger integers as <i8>, others as
// <double>; `undefined` struct members are left out and `undefined` elsewhere is sent as <nil/>. Members
// named with `withDoubles` (below) are always written as <double>. Strings are written as bare `<value>text</value>`, which the
// XML-RPC spec, Python 2's xmlrpclib and Python 3's xmlrpc.client all read as a string (it is shorter).

import type { Readable } from "node:stream";

export type XmlRpcValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Date
  | Buffer
  | XmlRpcValue[]
  | { [key: string]: XmlRpcValue | undefined };

export type XmlRpcStruct = { [key: string]: XmlRpcValue | undefined };

/** Whether a value is a <struct> (a plain object: not null, an array, a Date or a Buffer). */
export function isStruct(v: XmlRpcValue | undefined): v is XmlRpcStruct {
  return (
    v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v)
  );
}

/** Where withDoubles keeps its names: a symbol, so the members a struct lists stay exactly its data. */
export const DOUBLE_MEMBERS = Symbol("xmlrpc.doubleMembers");

/**
 * Marks `struct`'s members `names` to go out as <double> even when their number is whole: a job's progress
 * of 0 or 1 must reach Python as the float 0.0 / 1.0 HQueue sends, not the int a JS 0 becomes. The values
 * stay plain numbers for in-process callers (the dashboard calls the same handlers); only the encoder
 * reads the mark. Returns `struct`.
 */
export function withDoubles<T extends XmlRpcStruct>(struct: T, names: readonly string[]): T {
  Object.defineProperty(struct, DOUBLE_MEMBERS, { value: names, enumerable: false });
  return struct;
}

/** Python's xmlrpc.client raises `xmlrpc.client.Fault(faultCode, faultString)` for these. */
export class Fault extends Error {
  constructor(
    readonly faultCode: number,
    readonly faultString: string,
  ) {
    super(faultString);
    this.name = "Fault";
  }
}

/** Fault codes used by openhq; 1 is what Python's SimpleXMLRPCServer uses for any handler exception. */
export const FaultCode = {
  /** The request could not be parsed (not XML, not a methodCall, too deep, too large …). */
  parse: -32700,
  /** The method does not exist. */
  noMethod: -32601,
  /** An argument has the wrong type or value. */
  badArgument: -32602,
  /** A referenced object (job, client, group …) does not exist. */
  notFound: 404,
  /** Missing or wrong credentials (auth on, or an agent's farm token). */
  unauthorized: 401,
  /** The call is not allowed for this user (auth on). */
  forbidden: 403,
  /** The call is valid but not in the object's current state (e.g. delete a running job). */
  conflict: 409,
  /** A caller over its rate limit (an agent's port 5001). */
  tooManyCalls: 429,
  /** An unexpected error inside the server; logged in getServerErrors. */
  internal: 1,
} as const;

/** What a method handler learns about the call beyond its parameters. */
export interface CallContext {
  /** Authenticated user, when access control is on. */
  user?: string;
  /**
   * The caller's role when access control is on (coordinator/auth.ts: admin, or readonly also for callers
   * without credentials); undefined when it is off. For replies that depend on it (job environments).
   */
  role?: string;
  remoteAddress?: string;
}

/**
 * A string result too large to hold: the server writes its UTF-8 bytes into the reply as `open()` yields
 * them, escaped on the way, so a reply of any size costs a few buffers (a whole job log from
 * getJobOutput). `bytes` is its size in advance, for the reply bound. Only a call of its own may answer
 * one: inside system.multicall it is a Fault.
 */
export class StreamedText {
  constructor(
    readonly bytes: number,
    readonly open: () => Readable,
  ) {}
}

/**
 * One XML-RPC method. `params` are the decoded parameters. `null` (Python's None) and a missing argument
 * mean the same thing ("use the default"); the helpers in coordinator/api/args.ts treat both alike.
 * Throw a Fault for a bad call; any other exception becomes Fault(FaultCode.internal) and is recorded as a
 * server error.
 */
export type MethodHandler = (
  params: XmlRpcValue[],
  ctx: CallContext,
) => XmlRpcValue | StreamedText | Promise<XmlRpcValue | StreamedText>;

export type Methods = Record<string, MethodHandler>;
