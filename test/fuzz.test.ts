// Hostile-input fuzz against the REAL coordinator process: at least 10,000 generated malformed or hostile
// requests (truncated XML, wrong types, huge strings, deep nesting, DOCTYPE/entities, invalid UTF-8, control
// characters, wrong HTTP methods, bad Content-Length, garbage gzip, random bytes, wrong argument types to
// real methods). Every answer must be a Fault (HTTP 200) or a 4xx, the process must stay up, and the Redis
// data must be exactly what it was before. The generator is seeded: FUZZ_SEED=<n> replays a run.

import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { Redis } from "ioredis";
import { XmlRpcClient } from "../shared/xmlrpc/client.js";
import { decodeMethodResponse } from "../shared/xmlrpc/decode.js";
import { encodeMethodCall } from "../shared/xmlrpc/encode.js";
import { Fault, isStruct, type XmlRpcValue } from "../shared/xmlrpc/types.js";
import { useCoordinator } from "./support/coordinator-fixture.js";
import { replyBody } from "./support/http.js";

/** FUZZ_SCALE=10 for a deep run; the suite's default keeps the file under half a minute. */
const TOTAL = 4000 * Number(process.env["FUZZ_SCALE"] ?? 1);
const CONNECTIONS = 4;
/**
 * Keys the coordinator rewrites on a timer whatever the requests: its liveness records ({p}coordinators…) and
 * the dashboard's once-a-minute farm history ({p}history:farm, history:shares, history:lock:{minute},
 * {p}client:{id}:load);
 * and the audit log ({p}audit), which records refused state-changing calls too, by design.
 */
const VOLATILE_KEY = /:coordinators(:[^:]*)?$|:history:(farm|shares|lock:\d+)$|:client:\d+:load$|:audit$/;
/** Methods of the HQueue API that take no argument at all (extra arguments are not "wrong types" for them). */
const NO_ARGUMENTS = new Set([
  "ping",
  "getVersion",
  "getServerTime",
  "getServerErrors",
  "getNoteThreadIds",
  "getFinishedRootJobIds",
  "getUnfinishedRootJobIds",
  "getAllJobStatusNames",
  "getFailedJobStatusNames",
  "getFinishedJobStatusNames",
  "getPausedJobStatusNames",
  "getRunningJobStatusNames",
  "getSucceededStatusNames",
  "getUnfinishedJobStatusNames",
  "getWaitingJobStatusNames",
  "getPriorityChangedEventNames",
  "getRescheduledEventNames",
  "getResumedEventNames",
  "getStartedJobEventNames",
  "getShares",
]);
/** Methods whose one argument is an optional struct of filters, so an empty struct is a fine call for them. */
const OPTIONAL_FILTERS = new Set(["getAuditLog"]);

// ---------------------------------------------------------------- seeded randomness

const seed = Number(process.env["FUZZ_SEED"] ?? Math.floor(Math.random() * 2 ** 31));
let state = seed >>> 0;
function random(): number {
  // mulberry32
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number): number => Math.floor(random() * n);
function pick<T>(items: readonly T[]): T {
  return items[int(items.length)] as T;
}

// ---------------------------------------------------------------- what a probe is and what it may answer

type Expect = "fault" | "faults" | "4xx";
interface HttpProbe {
  kind: "http";
  label: string;
  body: Buffer;
  method?: string;
  headers?: Record<string, string>;
  /** "fault": a Fault or 4xx; "faults": a multicall reply whose every entry failed (or a Fault/4xx). */
  expect: Expect;
  /** Declares a larger Content-Length than it sends and waits for the early answer. */
  declaredLength?: number;
  /** Streams this many bytes chunked (over the body limit). */
  streamBytes?: number;
}
interface RawProbe {
  kind: "raw";
  label: string;
  bytes: Buffer;
}
type Probe = HttpProbe | RawProbe;

const xml = (methodName: string, paramsXml: string): string =>
  `<?xml version="1.0"?><methodCall><methodName>${methodName}</methodName><params>${paramsXml}</params></methodCall>`;
const oneParam = (method: string, valueXml: string): string =>
  xml(method, `<param><value>${valueXml}</value></param>`);
const http = (label: string, body: string | Buffer, extra: Partial<HttpProbe> = {}): HttpProbe => ({
  kind: "http",
  label,
  body: typeof body === "string" ? Buffer.from(body, "utf8") : body,
  expect: "fault",
  ...extra,
});

// ---------------------------------------------------------------- the generators

interface World {
  /** Real methods that take at least one argument. */
  methods: string[];
  jobId: number | null;
  noteId: number | null;
  groupId: number | null;
}

const HOSTILE_VALUES: XmlRpcValue[] = [
  {},
  { "junk\x01key": [Buffer.from([0xff])], nested: { deeper: [{}] } },
  { name: {} },
  { name: [], command: {} },
  Buffer.from("not an id"),
  new Date(Date.UTC(1999, 11, 31)),
  [{}],
  [[{}]],
  [Buffer.alloc(3)],
];

function validishBodies(world: World): string[] {
  return [
    encodeMethodCall("getJob", [1, ["name", "status"]]),
    encodeMethodCall("newjob", [{ name: "fuzz ✓", command: "echo hi", priority: 5, tags: ["single"] }]),
    encodeMethodCall("getJobs", [[1, 2, 3], null]),
    encodeMethodCall("cancelJobs", [[1, 2]]),
    encodeMethodCall("addNote", ["text with <markup> & ünïcode", null, 1, null]),
    encodeMethodCall(pick(world.methods), [new Date(0), Buffer.from("b64"), 2.5, true, { a: [1, "x"] }]),
  ];
}

function insertAt(body: Buffer, insert: Buffer): Buffer {
  const at = int(body.length + 1);
  return Buffer.concat([body.subarray(0, at), insert, body.subarray(at)]);
}

const INVALID_UTF8 = [
  [0xff],
  [0xfe],
  [0xc3, 0x28],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0x80],
  [0xe2, 0x82],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];
const CONTROL = [..."\x00\x01\x02\x07\x08\x0b\x0c\x0e\x1b\x1f"];
const CONTROL_REFS = ["&#0;", "&#1;", "&#x1b;", "&#xD800;", "&#xFFFE;", "&#1114112;"];

const WRONG_TYPES = [
  "<int>abc</int>",
  "<int>1.5</int>",
  "<i4>99999999999999999999.5</i4>",
  "<int></int>",
  "<boolean>2</boolean>",
  "<boolean>yes</boolean>",
  "<double>1.2.3</double>",
  "<double>0x10</double>",
  "<dateTime.iso8601>2024-13-45T99:99:99</dateTime.iso8601>",
  "<dateTime.iso8601>tomorrow</dateTime.iso8601>",
  "<base64>@@@</base64>",
  "<nil>text</nil>",
  "<struct><member><value>1</value></member></struct>",
  "<struct><member><name>a</name></member></struct>",
  "<struct>text</struct>",
  "<array><data>text</data></array>",
  "<int>1</int><int>2</int>",
  "text<int>1</int>",
  "<foo>1</foo>",
  "<value>1</value>",
  "<string><int>1</int></string>",
  `<base64>A${" ".repeat(20_000)}!</base64>`,
  `<double>${"1".repeat(50_000)}x</double>`,
  `<int>${"9".repeat(10_000)}</int>`,
  `<dateTime.iso8601>${"2".repeat(10_000)}</dateTime.iso8601>`,
];

const STRUCTURE_JUNK = [
  "<methodCall></methodCall>",
  "<methodCall><params/></methodCall>",
  "<methodCall><methodName></methodName></methodCall>",
  "<methodCall><methodName>getJob</methodName><params><param></param></params></methodCall>",
  "<methodCall><methodName>getJob</methodName><params>junk<param><value>1</value></param></params></methodCall>",
  "<methodCall><methodName>getJob</methodName><methodName>ping</methodName></methodCall>",
  "<methodCall><methodName>getJob</methodName><params><value>1</value></params></methodCall>",
  "<methodCall><methodName>getJob</methodName></methodCall><methodCall/>",
  "<methodResponse><params><param><value>1</value></param></params></methodResponse>",
  "<methodCall><methodName>getJob<b/></methodName></methodCall>",
  "<?xml version='1.0'?>",
  "<methodCall/>",
  "<methodCall><methodName>getJob</methodName><params><param><value><int>1</int></value></param></params>",
  "<methodCall xmlns='x'><methodName>getJob</methodName><params><params/></params></methodCall>",
  "<?xml version='1.0' encoding='EBCDIC'?><methodCall/>",
  "<?xml version='9.9'?><methodCall/>",
  "<![CDATA[<methodCall/>]]>",
  "<!-- only a comment -->",
  "<methodCall><methodName>a</methodName><params><param><value><array><data><value>1</value></data></struct></value></param></params></methodCall>",
];

const ENTITY_ATTACKS = [
  // billion laughs
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
    Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? "" : i};`.repeat(10)}">`,
    ).join("") +
    "]><methodCall><methodName>getJob</methodName><params><param><value>&lol9;</value></param></params></methodCall>",
  '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
    oneParam("getJob", "&xxe;").replace('<?xml version="1.0"?>', ""),
  '<!DOCTYPE foo [<!ENTITY % pe SYSTEM "http://127.0.0.1:1/x.dtd"> %pe;]>' +
    oneParam("getJob", "1").slice(21),
  '<!DOCTYPE methodCall SYSTEM "http://127.0.0.1:1/evil.dtd">' + oneParam("getJob", "1").slice(21),
  "<!DOCTYPE methodCall>" + oneParam("getJob", "1").slice(21),
  `<!DOCTYPE m [<!ENTITY big "${"A".repeat(50_000)}">]>` + oneParam("getJob", "&big;".repeat(1000)).slice(21),
  oneParam("getJob", "&undefined;"),
  oneParam("newjob", "<string>&amp;&lt;&bogus;</string>"),
  oneParam("getJob", "&#;"),
  oneParam("getJob", "&#x;&"),
];

const WEIRD_NAMES = [
  "",
  " ",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "system",
  "system.",
  ".",
  "system.multicall.x",
  "system.listMethods.constructor",
  "пинг",
  "getjob",
  "GETJOB",
  "get Job",
  "../../etc/passwd",
  "%s%s%s%n",
];

function wrongArguments(world: World): HttpProbe {
  const method = pick(world.methods);
  const hostile = pick(HOSTILE_VALUES);
  const shapes: (XmlRpcValue | undefined)[][] = [
    [hostile],
    [hostile, hostile],
    [hostile, null],
    [hostile, 1, "x"],
  ];
  return http(`wrong argument types: ${method}`, encodeMethodCall(method, pick(shapes)));
}

function mixedArguments(world: World): HttpProbe | undefined {
  const probes: [string, XmlRpcValue[]][] = [];
  const bad = pick(HOSTILE_VALUES);
  if (world.jobId !== null)
    for (const m of ["deleteJobs", "cancelJobs", "pauseJobs", "resumeJobs", "rescheduleJobs", "ejectJobs"])
      probes.push([m, [[world.jobId, bad]]]);
  if (world.jobId !== null) {
    probes.push(["savePermittedClientsList", [world.jobId, bad]]);
    probes.push(["setShowBlockedClientsWarning", [world.jobId, bad]]);
    probes.push(["newjob", [{ name: "child", command: "true" }, bad]]);
  }
  if (world.noteId !== null) probes.push(["removeNotes", [[world.noteId, bad]]]);
  if (world.groupId !== null) {
    probes.push(["addClientToGroup", [world.groupId, bad]]);
    probes.push(["removeClientFromGroup", [world.groupId, bad]]);
  }
  const available = probes.filter(([m]) => world.methods.includes(m));
  if (available.length === 0) return undefined;
  const [method, params] = pick(available);
  return http(`valid id with a hostile argument: ${method}`, encodeMethodCall(method, params));
}

function multicall(world: World): HttpProbe {
  const calls: XmlRpcValue[] = Array.from({ length: 1 + int(20) }, () => {
    const hostileCall = pick<XmlRpcValue>([
      { methodName: pick(world.methods), params: [pick(HOSTILE_VALUES)] },
      { methodName: pick(WEIRD_NAMES), params: [] },
      { methodName: pick(world.methods), params: pick(HOSTILE_VALUES) },
      { params: [1] },
      pick(HOSTILE_VALUES),
      "junk",
    ]);
    return hostileCall;
  });
  if (random() < 0.2)
    calls.push({ methodName: "system.multicall", params: [[{ methodName: "nope", params: [] }]] });
  if (random() < 0.2)
    return http(
      "multicall of a hostile value",
      encodeMethodCall("system.multicall", [pick(HOSTILE_VALUES)]),
      {
        expect: "faults",
      },
    );
  return http("multicall of hostile calls", encodeMethodCall("system.multicall", [calls]), {
    expect: "faults",
  });
}

function deepNesting(world: World): HttpProbe {
  const depth = 22 + int(2000);
  const method = pick(world.methods);
  const shapes: [string, string, string][] = [
    ["<array><data><value>", "1", "</value></data></array>"],
    ["<struct><member><name>k</name><value>", "1", "</value></member></struct>"],
    ["<array><data><value>", "", ""], // never closed
    ["<a>", "", "</a>"],
  ];
  const [open, middle, close] = pick(shapes);
  return http(`deep nesting ${depth}`, oneParam(method, open.repeat(depth) + middle + close.repeat(depth)));
}

/** Methods whose first argument is an id or a list of ids, so no string, however long, is valid for it. */
const ID_METHODS = [
  "getJob",
  "getJobs",
  "deleteJobs",
  "cancelJobs",
  "getJobOutput",
  "getClient",
  "removeSingleNote",
];

let hugeString: string | undefined;
function huge(world: World): HttpProbe {
  hugeString ??= "x".repeat(3 * 1024 * 1024);
  const idMethods = ID_METHODS.filter((m) => world.methods.includes(m));
  const method = idMethods.length > 0 ? pick(idMethods) : "fuzz.noSuchMethod";
  return pick([
    http(`3 MB string to ${method}`, encodeMethodCall(method, [hugeString])),
    http("3 MB method name", xml(hugeString, "")),
    http(`3 MB JSON-ish jobspec`, encodeMethodCall("newjob", ["{".repeat(3 * 1024 * 1024)])),
    http(
      `100k params to ${method}`,
      xml(method, "<param><value><struct></struct></value></param>".repeat(100_000)),
    ),
    http(
      `50k-member struct to ${method}`,
      oneParam(
        method,
        `<struct>${Array.from({ length: 50_000 }, (_, i) => `<member><name>k${i}</name><value>${i}</value></member>`).join("")}</struct>`,
      ),
    ),
  ]);
}

function gzipJunk(world: World): HttpProbe {
  const valid = Buffer.from(pick(validishBodies(world)));
  const zipped = gzipSync(valid);
  const headers = { "content-encoding": "gzip" };
  return pick([
    http("garbage gzip", Buffer.from(Array.from({ length: 1 + int(500) }, () => int(256))), { headers }),
    http("truncated gzip", zipped.subarray(0, int(zipped.length - 8)), { headers }),
    http("gzip header and garbage", Buffer.concat([zipped.subarray(0, 10), Buffer.from("garbage")]), {
      headers,
    }),
    http("gzip of hostile XML", gzipSync(pick(ENTITY_ATTACKS)), { headers }),
    http("plain body labelled gzip", valid, { headers }),
    http("unsupported encoding", valid, {
      headers: { "content-encoding": pick(["br", "deflate", "gzip, gzip", "compress", "x"]) },
    }),
  ]);
}

let bomb: Buffer | undefined;
function gzipBomb(): HttpProbe {
  bomb ??= gzipSync(Buffer.alloc(80 * 1024 * 1024, 32));
  return http("gzip bomb (80 MB of spaces)", bomb, { headers: { "content-encoding": "gzip" } });
}

function randomBytes(): HttpProbe {
  return http("random bytes", Buffer.from(Array.from({ length: int(3000) }, () => int(256))));
}

const SOUP = [
  "<",
  ">",
  "</",
  "/>",
  "methodCall",
  "methodName",
  "params",
  "param",
  "value",
  "int",
  "string",
  "struct",
  "member",
  "name",
  "array",
  "data",
  "nil",
  "&amp;",
  "&",
  ";",
  "=",
  '"',
  "'",
  "<?xml",
  "?>",
  "<!--",
  "-->",
  "<![CDATA[",
  "]]>",
  " ",
  "\n",
  "notAMethod",
  "1",
  "-",
  "é",
  "😀",
];
function tokenSoup(): HttpProbe {
  return http("token soup", Array.from({ length: 1 + int(200) }, () => pick(SOUP)).join(""));
}

function wrongHttpMethod(world: World): HttpProbe {
  const method = pick(["PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "MKCOL", "LOCK"]);
  return http(`HTTP ${method}`, pick(validishBodies(world)), { method, expect: "4xx" });
}

function rawHttp(world: World): RawProbe {
  const body = pick(validishBodies(world)).slice(0, 60);
  const head = (extra: string): string =>
    `POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n${extra}\r\n`;
  const cases: [string, string][] = [
    ["Content-Length not a number", head("Content-Length: abc\r\n") + body],
    ["negative Content-Length", head("Content-Length: -1\r\n") + body],
    ["enormous Content-Length", head("Content-Length: 99999999999999999999999\r\n") + body],
    ["two Content-Lengths", head("Content-Length: 5\r\nContent-Length: 6\r\n") + body],
    [
      "Content-Length and chunked",
      head(`Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`) + body,
    ],
    ["Content-Length shorter than the body", head("Content-Length: 10\r\n") + body],
    ["Content-Length longer than the body", head("Content-Length: 100000\r\n") + body],
    ["bad chunk size", head("Transfer-Encoding: chunked\r\n") + "zz\r\n" + body + "\r\n0\r\n\r\n"],
    ["garbage request line", "HELLO WORLD\r\n\r\n"],
    ["unknown HTTP method", `FOO / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`],
    ["huge header", head(`X-Junk: ${"j".repeat(100_000)}\r\nContent-Length: 0\r\n`)],
    ["HTTP/1.0 without Content-Length", `POST / HTTP/1.0\r\nHost: x\r\n\r\n${body}`],
    ["header with control characters", head("X-Bad: a\x01b\r\nContent-Length: 0\r\n")],
    ["three pipelined bad calls", (head("Content-Length: 10\r\n") + "<methodCal").repeat(3)],
    [
      "random bytes on the socket",
      Array.from({ length: 1 + int(200) }, () => String.fromCharCode(int(256))).join(""),
    ],
  ];
  const [label, text] = pick(cases);
  return { kind: "raw", label: `raw: ${label}`, bytes: Buffer.from(text, "latin1") };
}

function generate(world: World, i: number): Probe {
  // A few expensive probes at fixed positions, so every run has them.
  if (i === 7)
    return http("declared body far over the limit", Buffer.from("<methodCall>"), {
      declaredLength: 1024 ** 3,
      expect: "4xx",
    });
  if (i === 11)
    return http("streamed body over the limit", Buffer.alloc(0), {
      streamBytes: 65 * 1024 * 1024,
      expect: "4xx",
    });
  if (i === 13 || i === 5003) return gzipBomb();
  if (i % 400 === 17) return huge(world);
  const roll = random();
  if (roll < 0.12) {
    const valid = Buffer.from(pick(validishBodies(world)));
    return http("truncated XML", valid.subarray(0, int(valid.length - 1)));
  }
  if (roll < 0.2)
    return http(
      "invalid UTF-8",
      insertAt(Buffer.from(pick(validishBodies(world))), Buffer.from(pick(INVALID_UTF8))),
    );
  if (roll < 0.28) {
    const insert = random() < 0.6 ? pick(CONTROL) : pick(CONTROL_REFS);
    return http("control character", insertAt(Buffer.from(pick(validishBodies(world))), Buffer.from(insert)));
  }
  if (roll < 0.36) return http("wrong scalar type", oneParam(pick(world.methods), pick(WRONG_TYPES)));
  if (roll < 0.41) return http("broken structure", pick(STRUCTURE_JUNK));
  if (roll < 0.47) return http("DOCTYPE / entities", pick(ENTITY_ATTACKS));
  if (roll < 0.52) return deepNesting(world);
  if (roll < 0.67) return (random() < 0.3 ? mixedArguments(world) : undefined) ?? wrongArguments(world);
  if (roll < 0.72) return multicall(world);
  if (roll < 0.76)
    return http("weird method name", xml(pick(WEIRD_NAMES).replace(/&/g, "&amp;").replace(/</g, "&lt;"), ""));
  if (roll < 0.81) return gzipJunk(world);
  if (roll < 0.86) return randomBytes();
  if (roll < 0.9) return tokenSoup();
  if (roll < 0.95) return wrongHttpMethod(world);
  return rawHttp(world);
}

// ---------------------------------------------------------------- judging answers

/** Every entry a failure: a fault struct, or a nested multicall's [entries] that all failed. */
function allFailed(entries: XmlRpcValue): boolean {
  if (!Array.isArray(entries)) return false;
  return entries.every((entry) => {
    if (Array.isArray(entry)) return entry.length === 1 && allFailed(entry[0] ?? null);
    return entry !== null && typeof entry === "object" && "faultCode" in entry && "faultString" in entry;
  });
}

function judge(probe: HttpProbe, status: number, body: Buffer): string | undefined {
  if (status >= 400 && status < 500) return undefined;
  if (status !== 200) return `HTTP ${status}`;
  if (probe.expect === "4xx") return "HTTP 200 where a 4xx was expected";
  try {
    const reply = decodeMethodResponse(body.toString("utf8"));
    if (reply.fault) return undefined;
    if (probe.expect === "faults" && allFailed(reply.value)) return undefined;
    return `a successful reply: ${body.toString("utf8").slice(0, 300)}`;
  } catch (err) {
    return `an unreadable reply (${(err as Error).message}): ${body.toString("utf8").slice(0, 200)}`;
  }
}

// ---------------------------------------------------------------- sending

function sendHttp(url: URL, agent: Agent, probe: HttpProbe): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const special = probe.declaredLength !== undefined || probe.streamBytes !== undefined;
    const headers: Record<string, string> = {
      "content-type": "text/xml",
      "accept-encoding": "gzip",
      ...probe.headers,
    };
    if (probe.declaredLength !== undefined) headers["content-length"] = String(probe.declaredLength);
    else if (probe.streamBytes === undefined) headers["content-length"] = String(probe.body.length);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: pick(["/", "/RPC2", "/x"]),
        method: probe.method ?? "POST",
        headers,
        agent: special ? false : agent,
      },
      (res) => {
        replyBody(res).then((body) => {
          if (special) req.destroy();
          resolve({ status: res.statusCode ?? 0, body });
        }, reject);
      },
    );
    req.on("error", reject);
    if (probe.declaredLength !== undefined) req.write(probe.body);
    else if (probe.streamBytes !== undefined) {
      const chunk = Buffer.alloc(1024 * 1024, 120);
      let sent = 0;
      const pump = (): void => {
        while (sent < probe.streamBytes! && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
        req.end();
      };
      req.on("error", () => {}); // the server may cut us off mid-stream after answering 413
      pump();
    } else req.end(probe.body);
  });
}

/** Writes raw bytes, half-closes, and collects every status line the server sends back. */
function sendRaw(url: URL, probe: RawProbe): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no end of answer within 10 s"));
    }, 10_000);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => {}); // a reset after the answer is fine; what was received is judged
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      resolve([...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1])));
    });
    socket.end(probe.bytes);
  });
}

// ---------------------------------------------------------------- Redis snapshot

async function snapshot(redis: Redis): Promise<Map<string, string>> {
  const keys = (await redis.keys("*")).filter((k) => !VOLATILE_KEY.test(k)).sort();
  const out = new Map<string, string>();
  for (const key of keys) {
    const type = await redis.type(key);
    let value: unknown;
    if (type === "string") value = await redis.get(key);
    else if (type === "hash") value = Object.entries(await redis.hgetall(key)).sort();
    else if (type === "list") value = await redis.lrange(key, 0, -1);
    else if (type === "set") value = (await redis.smembers(key)).sort();
    else if (type === "zset") value = await redis.call("ZRANGE", key, "0", "-1", "WITHSCORES");
    else if (type === "stream") value = await redis.xrange(key, "-", "+");
    else value = `<${type}>`;
    out.set(key, `${type} ${JSON.stringify(value)}`);
  }
  return out;
}

/** The coordinator's maintenance rounds, faster than its 3 s default so that settled() takes less. */
const MAINTENANCE_MS = 300;

/**
 * A snapshot once background work on the seed data has finished: the coordinator's maintenance round (every
 * MAINTENANCE_MS here) notes why a queued job waits. Waits until nothing changed for QUIET_MS.
 */
async function settled(redis: Redis): Promise<Map<string, string>> {
  const QUIET_MS = 5 * MAINTENANCE_MS;
  let last = await snapshot(redis);
  let quietSince = Date.now();
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await snapshot(redis);
    if (now.size !== last.size || [...now].some(([k, v]) => last.get(k) !== v)) quietSince = Date.now();
    else if (Date.now() - quietSince >= QUIET_MS) return now;
    last = now;
  }
  const now = await snapshot(redis);
  const moving = [...new Set([...last.keys(), ...now.keys()])].filter((k) => last.get(k) !== now.get(k));
  throw new Error(
    `the coordinator keeps changing Redis on its own: ${moving.map((k) => describeChange(k, last.get(k), now.get(k))).join("\n")}`,
  );
}

/** What changed in one key: the differing hash fields, or both values cut short. */
function describeChange(key: string, was: string | undefined, now: string | undefined): string {
  if (was?.startsWith("hash ") && now?.startsWith("hash ")) {
    const a = new Map(JSON.parse(was.slice(5)) as [string, string][]);
    const b = new Map(JSON.parse(now.slice(5)) as [string, string][]);
    const fields = [...new Set([...a.keys(), ...b.keys()])].filter((f) => a.get(f) !== b.get(f));
    return `${key}: ${fields.map((f) => `${f}: ${a.get(f)?.slice(0, 300)} -> ${b.get(f)?.slice(0, 300)}`).join("; ")}`;
  }
  return `${key}: ${was?.slice(0, 300)} -> ${now?.slice(0, 300)}`;
}

// ---------------------------------------------------------------- the test

describe(`fuzz: hostile requests against a real coordinator (FUZZ_SEED=${seed})`, () => {
  const world: World = { methods: [], jobId: null, noteId: null, groupId: null };

  const farm = useCoordinator(
    { env: { OPENHQ_DISPATCH_MAINTENANCE_MS: String(MAINTENANCE_MS) } },
    async ({ url }) => {
      const client = new XmlRpcClient(url);
      try {
        const all = await client.call<string[]>("system.listMethods");
        world.methods = all.filter(
          (m) => !m.startsWith("system.") && !NO_ARGUMENTS.has(m) && !OPTIONAL_FILTERS.has(m),
        );
        // Some real data for hostile calls to (not) touch; each step is skipped when the method is missing.
        const attempt = async <T>(method: string, ...params: XmlRpcValue[]): Promise<T | null> => {
          if (!all.includes(method)) return null;
          try {
            return await client.call<T>(method, ...params);
          } catch (err) {
            if (err instanceof Fault) return null;
            throw err;
          }
        };
        const ids = await attempt<number[]>("newjob", [
          { name: "seed parent", command: "true", children: [{ name: "seed child", command: "true" }] },
        ]);
        world.jobId = ids?.[0] ?? null;
        world.groupId = await attempt<number>("createClientGroup", "fuzz group");
        if (world.jobId !== null) await attempt("addNote", "seed note", null, world.jobId, null);
        const threads = await attempt<number[]>("getNoteThreadIds");
        const notes = threads?.length ? await attempt<XmlRpcValue[]>("getLatestNotes", threads) : null;
        const note = notes?.[0];
        if (isStruct(note)) world.noteId = typeof note["id"] === "number" ? note["id"] : null;
      } finally {
        client.close();
      }
    },
  );

  it(`answers ${TOTAL} hostile requests with Faults or 4xx, stays up and changes nothing in Redis`, async (t) => {
    assert.ok(world.methods.length > 0, "the coordinator lists no methods");
    const before = await settled(farm.redis);
    const url = new URL(farm.url);
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const failures: string[] = [];
    const counts = new Map<string, number>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < TOTAL) {
        const i = next++;
        const probe = generate(world, i);
        const kind = probe.label.replace(/:.*| \d+.*/, "");
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
        try {
          if (probe.kind === "raw") {
            const statuses = await sendRaw(url, probe);
            const bad = statuses.filter((s) => s !== 200 && (s < 400 || s >= 500));
            if (bad.length) failures.push(`#${i} ${probe.label}: HTTP ${bad.join(", ")}`);
          } else {
            const { status, body } = await sendHttp(url, agent, probe);
            const problem = judge(probe, status, body);
            if (problem) failures.push(`#${i} ${probe.label}: ${problem}`);
          }
        } catch (err) {
          failures.push(`#${i} ${probe.label}: ${(err as Error).message}`);
        }
        if (farm.coordinator.process.exitCode !== null || farm.coordinator.process.signalCode !== null) {
          failures.push(`#${i} ${probe.label}: the coordinator exited`);
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
    agent.destroy();
    t.diagnostic(
      `${world.methods.length} methods, seed ids ${JSON.stringify({ ...world, methods: undefined })}`,
    );
    t.diagnostic([...counts].map(([k, n]) => `${k}: ${n}`).join(", "));

    assert.deepEqual(
      failures.slice(0, 30),
      [],
      `${failures.length} bad answers (FUZZ_SEED=${seed}):\n${failures.slice(0, 30).join("\n")}`,
    );
    assert.equal(farm.coordinator.process.exitCode, null, "the coordinator is still running");
    const client = new XmlRpcClient(farm.url);
    try {
      assert.equal(await client.call("ping"), true);
    } finally {
      client.close();
    }
    const afterwards = await snapshot(farm.redis);
    const changed = [...new Set([...before.keys(), ...afterwards.keys()])].filter(
      (k) => before.get(k) !== afterwards.get(k),
    );
    assert.deepEqual(
      changed.map((k) => describeChange(k, before.get(k), afterwards.get(k))),
      [],
      "Redis data changed",
    );
    assert.ok(next >= TOTAL);
    assert.ok(counts.size >= 10, [...counts].join(", "));
  });
});
