// The XML-RPC server driven by Python's xmlrpc.client (as HQueue scripts drive it), plus raw HTTP for what
// Python cannot send, and XmlRpcClient against this server and against Python's own server.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { XmlRpcClient, XmlRpcProtocolError } from "../shared/xmlrpc/client.js";
import { decodeMethodResponse } from "../shared/xmlrpc/decode.js";
import { encodeMethodCall } from "../shared/xmlrpc/encode.js";
import { createXmlRpcServer, type CallOutcome } from "../shared/xmlrpc/server.js";
import {
  Fault,
  FaultCode,
  type CallContext,
  type Methods,
  withDoubles,
  type XmlRpcValue,
} from "../shared/xmlrpc/types.js";
import { rawRequest, type RawReply } from "./support/http.js";
import { PRELUDE, python } from "./support/python.js";

const everything: Record<string, XmlRpcValue> = {
  int: 7,
  negative: -2147483648,
  i8: 2 ** 40,
  huge: 2n ** 70n,
  double: 0.1,
  yes: true,
  no: false,
  text: "héllo <ünïcode> & 😀",
  crlf: "a\r\nb\rc",
  control: "bell\x07esc\x1b[0m",
  when: new Date(Date.UTC(2024, 1, 29, 23, 59, 58)),
  bytes: Buffer.from([0, 1, 2, 255]),
  none: null,
  list: [1, "two", [3.5, null]],
  nested: { a: { b: { c: [] } } },
  fractions: withDoubles({ zero: 0, one: 1, half: 0.5, count: 3 }, ["zero", "one", "half"]),
};

const methods: Methods = {
  ping: () => true,
  echo: (params) => params[0] ?? null,
  echoAll: (params) => params,
  everything: () => everything,
  countNulls: (params) => params.filter((p) => p === null).length,
  big: ([n]) => "x".repeat(Number(n)),
  fault: () => {
    throw new Fault(42, "the answer <is> & stays");
  },
  boom: () => {
    throw new Error("kaput");
  },
  unencodable: () => new Date(NaN),
  slow: () => new Promise((resolve) => setTimeout(() => resolve(true), 300)),
};

describe("xmlrpc server", () => {
  const calls: { method: string; outcome: CallOutcome }[] = [];
  const errors: { message: string; method: string | undefined }[] = [];
  let connections = 0;
  let url = "";
  let port = 0;
  const server = createXmlRpcServer(methods, {
    maxBodyBytes: 1024 * 1024,
    maxDepth: 32,
    gzipMinBytes: 4096,
    onCall: (method, durationMs, outcome) => {
      assert.ok(durationMs >= 0);
      calls.push({ method, outcome });
    },
    onError: (err, method) => errors.push({ message: err.message, method }),
  });
  server.on("connection", () => connections++);

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    url = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A raw POST (or other method); resolves with status, headers and the (unzipped) body. */
  function raw(
    body: string | Buffer,
    options: { method?: string; path?: string; headers?: Record<string, string> } = {},
  ): Promise<RawReply> {
    return rawRequest(port, { path: "/", ...options, body });
  }

  function faultOf(body: string): Fault {
    const decoded = decodeMethodResponse(body);
    assert.ok(decoded.fault, `expected a fault, got ${body}`);
    return decoded.fault;
  }

  it("exchanges every type with Python, with and without allow_none", async () => {
    const result = await python<Record<string, unknown>>(
      PRELUDE +
        `
import datetime
sent = [7, -2147483648, 2147483647, 0.1, True, False, "héllo <ünïcode> & 😀", "tab\\tnl\\n",
        xmlrpc.client.DateTime("20240229T23:59:58"), datetime.datetime(2001, 2, 3, 4, 5, 6),
        xmlrpc.client.Binary(b"\\x00\\x01\\xff"), [1, [2, "three"]], {"a": {"b": [True]}}, {}, [], ""]
back = hq.echoAll(*sent)
same = []
for s, b in zip(sent, back):
    if isinstance(s, datetime.datetime):
        same.append(str(b) == s.strftime("%Y%m%dT%H:%M:%S"))
    else:
        same.append(s == b)
e = hq.everything()
out({
  "same": same, "count": len(back),
  "types": {k: type(v).__name__ for k, v in e.items()},
  "values": {k: (v if not isinstance(v, (xmlrpc.client.DateTime, xmlrpc.client.Binary)) else str(v)) for k, v in e.items()
             if k not in ("bytes", "huge")},
  "bytes": list(e["bytes"].data), "huge": str(e["huge"]),
  "fractionTypes": {k: type(v).__name__ for k, v in e["fractions"].items()},
  "nulls": hq.countNulls(None, 1, None),
  "echoNone": hq.echo(None),
  "strictEverything": sorted(hq_strict.everything().keys()),
  "strictEcho": hq_strict.echo({"k": [1, 2.5, "s"]}),
})
`,
      { HQSERVER: url },
    );
    assert.deepEqual(result["same"], new Array(16).fill(true));
    assert.deepEqual(result["types"], {
      int: "int",
      negative: "int",
      i8: "int",
      huge: "int",
      double: "float",
      yes: "bool",
      no: "bool",
      text: "str",
      crlf: "str",
      control: "str",
      when: "DateTime",
      bytes: "Binary",
      none: "NoneType",
      list: "list",
      nested: "dict",
      fractions: "dict",
    });
    assert.deepEqual(result["fractionTypes"], { zero: "float", one: "float", half: "float", count: "int" });
    assert.deepEqual(result["values"], {
      int: 7,
      negative: -2147483648,
      i8: 2 ** 40,
      double: 0.1,
      yes: true,
      no: false,
      text: "héllo <ünïcode> & 😀",
      crlf: "a\r\nb\rc",
      control: "bell\ufffdesc\ufffd[0m",
      when: "20240229T23:59:58",
      none: null,
      list: [1, "two", [3.5, null]],
      nested: { a: { b: { c: [] } } },
      fractions: { zero: 0, one: 1, half: 0.5, count: 3 },
    });
    assert.deepEqual(result["bytes"], [0, 1, 2, 255]);
    assert.equal(result["huge"], String(2n ** 70n));
    assert.equal(result["nulls"], 2);
    assert.equal(result["echoNone"], null);
    assert.equal((result["strictEverything"] as string[]).length, Object.keys(everything).length);
    assert.deepEqual(result["strictEcho"], { k: [1, 2.5, "s"] });
  });

  it("is read by Python 2's xmlrpclib too: bare strings, whole doubles (skipped without Python 2.7)", async (t) => {
    // Houdini's older Python 2 scripts use xmlrpclib; pyenv machines reach it through PYENV_VERSION.
    const env = { ...process.env, PYENV_VERSION: process.env["PYENV_VERSION"] ?? "2.7.18" };
    const code = [
      "import json, sys, xmlrpclib",
      "e = xmlrpclib.ServerProxy(sys.argv[1], allow_none=True).everything()",
      "print(json.dumps({'text': e['text'], 'crlf': e['crlf'], 'list': e['list'],",
      "  'fractions': dict((k, type(v).__name__) for k, v in e['fractions'].items())}))",
    ].join("\n");
    const result = await new Promise<string | undefined>((resolve) => {
      const child = spawn("python2.7", ["-c", code, url], { env, stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("error", () => resolve(undefined));
      child.on("close", (status) => resolve(status === 0 ? out : undefined));
    });
    if (result === undefined) {
      t.skip("no Python 2.7 here");
      return;
    }
    assert.deepEqual(JSON.parse(result), {
      text: "héllo <ünïcode> & 😀",
      crlf: "a\r\nb\rc",
      list: [1, "two", [3.5, null]],
      fractions: { zero: "float", one: "float", half: "float", count: "int" },
    });
  });

  it("keeps an idle connection past clients' idle limits: fetch reuses it after 6 s, under load", async () => {
    // Node's default 5 s keep-alive closed a pooled socket just as undici reused it (UND_ERR_SOCKET); 65 s
    // outlives the clients' own limits (undici follows the server's hint: timeout=65 -> 64 s).
    const busy = spawn(process.execPath, ["-e", "const end = Date.now() + 7000; while (Date.now() < end);"]);
    try {
      const call = async () => {
        const res = await fetch(url, { method: "POST", body: encodeMethodCall("ping", []) });
        assert.equal(res.status, 200);
        assert.match(res.headers.get("keep-alive") ?? "", /timeout=65\b/);
        assert.equal(decodeMethodResponse(await res.text()).value, true);
      };
      await call();
      const opened = connections;
      await new Promise((resolve) => setTimeout(resolve, 6000));
      await call();
      assert.equal(connections, opened, "the second call went over the idle connection");
    } finally {
      busy.kill();
    }
  });

  it("answers an unknown method with a Fault and keeps the connection for the next call", async () => {
    const before = connections;
    const result = await python<Record<string, unknown>>(
      PRELUDE +
        `
f = fault(hq.noSuchMethod, 1)
conn = hq("transport")._connection[1]
first_sock = conn.sock
ok = hq.ping()
f2 = fault(hq.fault)
f3 = fault(hq.boom)
ok2 = hq.ping()
out({"fault": f, "ok": ok, "ok2": ok2, "f2": f2, "f3": f3,
     "sameSocket": first_sock is not None and hq("transport")._connection[1].sock is first_sock})
`,
      { HQSERVER: url },
    );
    assert.deepEqual(result["fault"], {
      faultCode: FaultCode.noMethod,
      faultString: 'method "noSuchMethod" is not supported',
    });
    assert.equal(result["ok"], true);
    assert.equal(result["ok2"], true);
    assert.deepEqual(result["f2"], { faultCode: 42, faultString: "the answer <is> & stays" });
    assert.deepEqual(result["f3"], { faultCode: 1, faultString: "kaput" });
    assert.equal(result["sameSocket"], true);
    assert.equal(connections - before, 1);
    assert.ok(errors.some((e) => e.message === "kaput" && e.method === "boom"));
    assert.ok(calls.some((c) => c.method === "(unknown)" && c.outcome === "fault"));
    assert.ok(calls.some((c) => c.method === "boom" && c.outcome === "error"));
    assert.ok(calls.some((c) => c.method === "fault" && c.outcome === "fault"));
    assert.ok(calls.some((c) => c.method === "ping" && c.outcome === "ok"));
  });

  it("serves system.multicall, listMethods, methodHelp and methodSignature like Python", async () => {
    const result = await python<Record<string, unknown>>(
      PRELUDE +
        `
m = xmlrpc.client.MultiCall(hq)
m.echo(1); m.fault(); m.nothere(); m.echo("x"); m.boom(); m.countNulls(None)
res = m()
items = []
for i in range(6):
    try:
        items.append({"ok": res[i]})
    except xmlrpc.client.Fault as f:
        items.append({"faultCode": f.faultCode, "faultString": f.faultString})
rawres = hq.system.multicall([{"methodName": "echo", "params": [5]}, {"methodName": "echo"}, "junk", {"params": []}])
out({"items": items, "raw": rawres, "list": hq.system.listMethods(),
     "help": hq.system.methodHelp("echo"), "sig": hq.system.methodSignature("echo"),
     "badMulti": fault(hq.system.multicall, "nope")})
`,
      { HQSERVER: url },
    );
    assert.deepEqual(result["items"], [
      { ok: 1 },
      { faultCode: 42, faultString: "the answer <is> & stays" },
      { faultCode: FaultCode.noMethod, faultString: 'method "nothere" is not supported' },
      { ok: "x" },
      { faultCode: 1, faultString: "kaput" },
      { ok: 1 },
    ]);
    const rawResults = result["raw"] as unknown[];
    assert.deepEqual(rawResults[0], [5]);
    assert.deepEqual(rawResults[1], [null]);
    assert.equal((rawResults[2] as { faultCode: number }).faultCode, FaultCode.badArgument);
    assert.equal((rawResults[3] as { faultCode: number }).faultCode, FaultCode.badArgument);
    const list = result["list"] as string[];
    assert.deepEqual(list, [...list].sort());
    for (const name of [
      ...Object.keys(methods),
      "system.listMethods",
      "system.multicall",
      "system.methodHelp",
    ])
      assert.ok(list.includes(name), name);
    assert.equal(result["help"], "");
    assert.equal(result["sig"], "signatures not supported");
    assert.equal((result["badMulti"] as { faultCode: number }).faultCode, FaultCode.badArgument);
  });

  it("gzips large replies for clients that accept it, and reads gzipped requests", async () => {
    const result = await python<Record<string, unknown>>(
      PRELUDE +
        `
hq("transport").encode_threshold = 1000
long = "y" * 300000
out({"big": len(hq.big(200000)), "echo": hq.echo(long) == long})
`,
      { HQSERVER: url },
    );
    assert.deepEqual(result, { big: 200000, echo: true });
    const body = encodeMethodCall("big", [100000]);
    const zipped = await raw(body, { headers: { "accept-encoding": "deflate, gzip;q=0.5" } });
    assert.equal(zipped.headers["content-encoding"], "gzip");
    assert.equal(decodeMethodResponse(zipped.body).value, "x".repeat(100000));
    const refused = await raw(body, { headers: { "accept-encoding": "gzip;q=0" } });
    assert.equal(refused.headers["content-encoding"], undefined);
    const small = await raw(encodeMethodCall("big", [10]), { headers: { "accept-encoding": "gzip" } });
    assert.equal(small.headers["content-encoding"], undefined);
    const gzBody = await raw(gzipSync(encodeMethodCall("echo", ["zipped"])), {
      headers: { "content-encoding": "gzip" },
    });
    assert.equal(decodeMethodResponse(gzBody.body).value, "zipped");
  });

  it("accepts POST on /, /RPC2 and any other path, and refuses other HTTP methods with 405", async () => {
    const result = await python<unknown[]>(
      PRELUDE +
        `
base = os.environ["HQSERVER"]
out([xmlrpc.client.ServerProxy(base + p).echo(p) for p in ("/", "/RPC2", "/any/path")])
`,
      { HQSERVER: url },
    );
    assert.deepEqual(result, ["/", "/RPC2", "/any/path"]);
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await raw("", { method, path: "/RPC2" });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers["allow"], "POST");
    }
  });

  it("enforces the body and depth limits and rejects DOCTYPE, entities and bad bytes", async () => {
    const result = await python<Record<string, unknown>>(
      PRELUDE +
        `
def protocol(fn, *a):
    try:
        fn(*a)
        return None
    except xmlrpc.client.ProtocolError as e:
        return e.errcode
deep = []
for _ in range(12):
    deep = [deep]
out({"tooBig": protocol(hq.echo, "z" * (3 * 512 * 1024)),
     "after": hq.ping(),
     "deep": fault(hq.echo, deep), "shallow": len(hq.echo([[[1]]]))})
`,
      { HQSERVER: url },
    );
    assert.equal(result["tooBig"], 413);
    assert.equal(result["after"], true);
    assert.equal((result["deep"] as { faultCode: number; faultString: string }).faultCode, FaultCode.parse);
    assert.match((result["deep"] as { faultString: string }).faultString, /deeper than 32/);
    assert.equal(result["shallow"], 1);

    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>' +
      "<methodCall><methodName>echo</methodName><params><param><value>&lol2;</value></param></params></methodCall>";
    const hostile: (string | Buffer)[] = [
      bomb,
      "<methodCall><methodName>echo</methodName><params><param><value>&xxe;</value></param></params></methodCall>",
      Buffer.concat([
        Buffer.from("<methodCall><methodName>echo</methodName><params><param><value>"),
        Buffer.from([0xc3, 0x28]),
        Buffer.from("</value></param></params></methodCall>"),
      ]),
      "<methodCall><methodName>echo\x00</methodName></methodCall>",
      "<methodCall><methodName>echo",
      "",
    ];
    for (const body of hostile) {
      const res = await raw(body);
      assert.equal(res.status, 200);
      assert.equal(faultOf(res.body).faultCode, FaultCode.parse, String(body));
    }
    const garbageGzip = await raw(Buffer.from("not gzip at all"), {
      headers: { "content-encoding": "gzip" },
    });
    assert.equal(faultOf(garbageGzip.body).faultCode, FaultCode.parse);
    const zipBomb = await raw(gzipSync(Buffer.alloc(4 * 1024 * 1024, 32)), {
      headers: { "content-encoding": "gzip" },
    });
    assert.equal(zipBomb.status, 413);
    const latin1 = await raw(
      Buffer.from(
        '<?xml version="1.0" encoding="ISO-8859-1"?><methodCall><methodName>echo</methodName>' +
          "<params><param><value>caf\xe9</value></param></params></methodCall>",
        "latin1",
      ),
    );
    assert.equal(decodeMethodResponse(latin1.body).value, "café");
  });

  it("turns an unencodable result into Fault(1) and reports it", async () => {
    const res = await raw(encodeMethodCall("unencodable", []));
    const fault = faultOf(res.body);
    assert.equal(fault.faultCode, FaultCode.internal);
    assert.match(fault.faultString, /cannot encode/);
    assert.ok(errors.some((e) => e.method === "unencodable"));
  });

  it("XmlRpcClient talks to this server, with Basic auth in the URL, gzip and Faults", async () => {
    const seen: (string | undefined)[] = [];
    server.prependListener("request", (req) => seen.push(req.headers.authorization));
    const client = new XmlRpcClient(`http://us%3Aer:p%40ss@127.0.0.1:${port}/RPC2`);
    try {
      assert.deepEqual(
        await client.call("echoAll", ...Object.values(everything)),
        Object.values(everything).map((v) =>
          typeof v === "string" && v.includes("\x07") ? "bell\ufffdesc\ufffd[0m" : v,
        ),
      );
      assert.equal((await client.call<string>("big", 50000)).length, 50000);
      await assert.rejects(client.call("fault"), (e: unknown) => e instanceof Fault && e.faultCode === 42);
      assert.equal(await client.call("ping"), true);
      assert.equal(client.url, `http://127.0.0.1:${port}/RPC2`);
    } finally {
      client.close();
    }
    assert.equal(seen[0], `Basic ${Buffer.from("us:er:p@ss").toString("base64")}`);
    const impatient = new XmlRpcClient(url, { timeoutMs: 50 });
    try {
      await assert.rejects(impatient.call("slow"), /no answer to slow within 50 ms/);
    } finally {
      impatient.close();
    }
    const tooBig = new XmlRpcClient(url);
    try {
      await assert.rejects(
        tooBig.call("echo", "q".repeat(1536 * 1024)),
        (e: unknown) => e instanceof XmlRpcProtocolError && e.status === 413,
      );
    } finally {
      tooBig.close();
    }
  });

  it("XmlRpcClient reads what Python's own SimpleXMLRPCServer writes", async () => {
    const child = spawn("python3", [
      "-c",
      `
import sys, datetime, xmlrpc.server
class Quiet(xmlrpc.server.SimpleXMLRPCRequestHandler):
    def log_message(self, *a): pass
s = xmlrpc.server.SimpleXMLRPCServer(("127.0.0.1", 0), requestHandler=Quiet, allow_none=True, logRequests=False)
s.register_function(lambda *a: list(a), "echoAll")
s.register_function(lambda: {"big": 2**31 - 1, "when": datetime.datetime(2024, 1, 2, 3, 4, 5), "none": None,
    "bin": xmlrpc.client.Binary(b"\\x00\\xff"), "f": 1.25, "s": "a\\r\\nb <&>"}, "things")
def oops(): raise ValueError("no good")
s.register_function(oops, "oops")
s.register_multicall_functions()
print(s.server_address[1], flush=True)
s.serve_forever()
`,
    ]);
    try {
      const [line] = (await once(child.stdout, "data")) as [Buffer];
      const client = new XmlRpcClient(`http://127.0.0.1:${line.toString().trim()}`);
      try {
        const sent = [
          1,
          "two",
          [3.5, null],
          { four: true },
          new Date(Date.UTC(2020, 5, 6, 7, 8, 9)),
          Buffer.from("hi"),
        ];
        assert.deepEqual(await client.call("echoAll", ...sent), sent);
        assert.deepEqual(await client.call("things"), {
          big: 2 ** 31 - 1,
          when: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
          none: null,
          bin: Buffer.from([0, 255]),
          f: 1.25,
          s: "a\nb <&>",
        });
        await assert.rejects(
          client.call("oops"),
          (e: unknown) => e instanceof Fault && e.faultCode === 1 && /no good/.test(e.faultString),
        );
        assert.deepEqual(await client.call("system.multicall", [{ methodName: "echoAll", params: [1] }]), [
          [[1]],
        ]);
      } finally {
        client.close();
      }
    } finally {
      child.kill();
    }
  });

  for (const mode of ["synchronous", "asynchronous"])
    it(`asks a ${mode} authorize before every call (inside multicall too), and runs async handlers`, async () => {
      const asked: string[] = [];
      const decide = (req: IncomingMessage, method: string, ctx: CallContext): true | Fault => {
        asked.push(method);
        if (method === "secret") return new Fault(FaultCode.forbidden, "secret: not for you");
        if (method === "authBoom") throw new Error("auth backend down");
        ctx.user = String(req.headers["x-user"] ?? "anon");
        return true;
      };
      const seen: { method: string; outcome: CallOutcome }[] = [];
      const guarded = createXmlRpcServer(
        {
          whoami: async (_params, ctx) => {
            await new Promise((r) => setTimeout(r, 5));
            return ctx.user ?? null;
          },
          secret: () => "never",
          slowFail: async () => {
            await new Promise((r) => setTimeout(r, 5));
            throw new Fault(7, "slow no");
          },
          slowBoom: async () => {
            throw new Error("slow kaput");
          },
        },
        {
          authorize: mode === "synchronous" ? decide : async (req, method, ctx) => decide(req, method, ctx),
          onCall: (method, _ms, outcome) => seen.push({ method, outcome }),
        },
      );
      await new Promise<void>((resolve) => guarded.listen(0, "127.0.0.1", resolve));
      const client = new XmlRpcClient(`http://127.0.0.1:${(guarded.address() as AddressInfo).port}`, {
        headers: { "x-user": "ada" },
      });
      try {
        assert.equal(await client.call("whoami"), "ada");
        await assert.rejects(
          client.call("secret"),
          (e: unknown) => e instanceof Fault && e.faultCode === 403,
        );
        await assert.rejects(
          client.call("slowFail"),
          (e: unknown) => e instanceof Fault && e.faultCode === 7,
        );
        await assert.rejects(
          client.call("slowBoom"),
          (e: unknown) => e instanceof Fault && e.faultCode === 1 && e.faultString === "slow kaput",
        );
        await assert.rejects(
          client.call("authBoom"),
          (e: unknown) => e instanceof Fault && e.faultCode === 1,
        );
        const results = await client.call("system.multicall", [
          { methodName: "whoami", params: [] },
          { methodName: "secret", params: [] },
        ]);
        assert.deepEqual(results, [["ada"], { faultCode: 403, faultString: "secret: not for you" }]);
        assert.deepEqual(asked, [
          "whoami",
          "secret",
          "slowFail",
          "slowBoom",
          "authBoom",
          "system.multicall",
          "whoami",
          "secret",
        ]);
        assert.deepEqual(seen.slice(0, 5), [
          { method: "whoami", outcome: "ok" },
          { method: "secret", outcome: "fault" },
          { method: "slowFail", outcome: "fault" },
          { method: "slowBoom", outcome: "error" },
          { method: "(unknown)", outcome: "error" },
        ]);
      } finally {
        client.close();
        guarded.closeAllConnections();
        await new Promise((resolve) => guarded.close(resolve));
      }
    });
});
