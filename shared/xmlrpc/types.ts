// The values that cross the XML-RPC boundary, and the Fault that answers a bad call.
//
// Mapping: <int>/<i4>/<i8> -> number (bigint beyond 2^53), <boolean> -> boolean, <string> -> string,
// <double> -> number, <dateTime.iso8601> -> Date (naive, read and written as UTC "YYYYMMDDTHH:MM:SS"),
// <base64> -> Buffer, <struct> -> plain object, <array> -> array, <nil/> -> null.
// Encoding a JS number: integers within 32 bits go out as <int>, larger integers as <i8>, others as
// <double>; `undefined` struct members are left out and `undefined` elsewhere is sent as <nil/>. A `Double`
// (see below) is always written as <double>. Strings are written as bare `<value>text</value>`, which the
// XML-RPC spec, Python 2's xmlrpclib and Python 3's xmlrpc.client all read as a string (it is shorter).

export type XmlRpcValue =
  | null
  | boolean
  | number
  | Double
  | bigint
  | string
  | Date
  | Buffer
  | XmlRpcValue[]
  | { [key: string]: XmlRpcValue | undefined };

/**
 * A number sent as <double> even when it is whole, for values a Python client must get as a float (a job's
 * progress of 0 or 1 is 0.0 / 1.0 in HQueue, not the int a plain JS number 0 would become). Only the encoder
 * knows it: decoding yields plain numbers.
 */
export class Double {
  constructor(readonly value: number) {}
}

/** `n` marked to go out as <double>. */
export function double(n: number): Double {
  return new Double(n);
}

export type XmlRpcStruct = { [key: string]: XmlRpcValue | undefined };

/** Whether a value is a <struct> (a plain object, not null, an array, a Date, a Buffer or a Double). */
export function isStruct(v: XmlRpcValue | undefined): v is XmlRpcStruct {
  return (
    v !== null &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    !(v instanceof Date) &&
    !Buffer.isBuffer(v) &&
    !(v instanceof Double)
  );
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
  /** The call is not allowed for this user (auth on). */
  forbidden: 403,
  /** The call is valid but not in the object's current state (e.g. delete a running job). */
  conflict: 409,
  /** An unexpected error inside the server; logged in getServerErrors. */
  internal: 1,
} as const;

/** What a method handler learns about the call beyond its parameters. */
export interface CallContext {
  /** Authenticated user, when access control is on. */
  user?: string;
  remoteAddress?: string;
}

/**
 * One XML-RPC method. `params` are the decoded parameters. `null` (Python's None) and a missing argument
 * mean the same thing ("use the default"); the helpers in coordinator/api/args.ts treat both alike.
 * Throw a Fault for a bad call; any other exception becomes Fault(FaultCode.internal) and is recorded as a
 * server error.
 */
export type MethodHandler = (params: XmlRpcValue[], ctx: CallContext) => XmlRpcValue | Promise<XmlRpcValue>;

export type Methods = Record<string, MethodHandler>;
