// The XML-RPC codec on its own: every type round-trips, lenient input is accepted, hostile input is a Fault.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDateTime } from "../shared/xmlrpc/datetime.js";
import { decodeMethodCall, decodeMethodResponse } from "../shared/xmlrpc/decode.js";
import {
  encodeFault,
  encodeMethodCall,
  encodeMethodResponse,
  encodeMethodResponseBody,
  escapeXml,
} from "../shared/xmlrpc/encode.js";
import { Fault, FaultCode, withDoubles, type XmlRpcValue } from "../shared/xmlrpc/types.js";

const call = (inner: string): string =>
  `<?xml version="1.0"?><methodCall><methodName>m</methodName><params>${inner}</params></methodCall>`;
const param = (value: string): string => call(`<param><value>${value}</value></param>`);
const first = (xml: string): XmlRpcValue | undefined => decodeMethodCall(xml).params[0];

function parseFault(xml: string, pattern?: RegExp): void {
  assert.throws(
    () => decodeMethodCall(xml),
    (err: unknown) =>
      err instanceof Fault &&
      err.faultCode === FaultCode.parse &&
      (!pattern || pattern.test(err.faultString)),
  );
}

const samples: XmlRpcValue[] = [
  0,
  1,
  -1,
  2147483647,
  -2147483648,
  2147483648,
  2 ** 53 - 1,
  -(2 ** 53) + 1,
  2n ** 53n + 1n,
  -(2n ** 63n),
  2n ** 80n,
  1.5,
  -0.25,
  1e300,
  5e-324,
  Infinity,
  -Infinity,
  true,
  false,
  "",
  "plain",
  "a & b < c > d ]]> e",
  "line\r\nbreak\rcr\ttab",
  "héllo ✓ 😀 \u{10ffff}",
  "  spaced  ",
  new Date(Date.UTC(2024, 1, 29, 23, 59, 58)),
  new Date(Date.UTC(1970, 0, 1, 0, 0, 0)),
  Buffer.from([0, 1, 2, 255, 254]),
  Buffer.alloc(0),
  null,
  [],
  [1, "two", [3, [4, null]], { five: 5 }],
  {},
  { a: 1, "key with <&>": "v", nested: { list: [true, false], when: new Date(0) } },
];

describe("xmlrpc codec", () => {
  it("round-trips every type as a call parameter and as a response", () => {
    const decoded = decodeMethodCall(encodeMethodCall("some.method", samples));
    assert.equal(decoded.methodName, "some.method");
    assert.deepEqual(decoded.params, samples);
    for (const sample of samples)
      assert.deepEqual(decodeMethodResponse(encodeMethodResponse(sample)), { value: sample });
  });

  it("writes ints within 32 bits as <int>, larger ones as <i8>, others as <double>", () => {
    assert.match(encodeMethodResponse(2147483647), /<int>2147483647<\/int>/);
    assert.match(encodeMethodResponse(2147483648), /<i8>2147483648<\/i8>/);
    assert.match(encodeMethodResponse(-(2n ** 40n)), /<i8>-1099511627776<\/i8>/);
    assert.match(encodeMethodResponse(5n), /<int>5<\/int>/);
    assert.match(encodeMethodResponse(0.5), /<double>0.5<\/double>/);
    assert.match(encodeMethodResponse(NaN), /<double>nan<\/double>/);
    assert.match(encodeMethodResponse(-0), /<int>0<\/int>/);
  });

  it("writes members marked withDoubles as <double> even when whole, and strings as bare values", () => {
    const marked = withDoubles({ progress: 0, overall: 1, other: 0, half: 0.5 }, [
      "progress",
      "overall",
      "half",
    ]);
    const xml = encodeMethodResponse(marked);
    assert.match(xml, /<name>progress<\/name><value><double>0<\/double>/);
    assert.match(xml, /<name>overall<\/name><value><double>1<\/double>/);
    assert.match(xml, /<name>other<\/name><value><int>0<\/int>/);
    assert.deepEqual(Object.keys(marked), ["progress", "overall", "other", "half"]);
    assert.deepEqual(decodeMethodResponse(xml), { value: { progress: 0, overall: 1, other: 0, half: 0.5 } });
    assert.match(encodeMethodResponse("a < b"), /<value>a &lt; b<\/value>/);
    assert.equal(first(param("<string>typed</string>")), "typed");
    assert.equal(first(param("bare")), "bare");
  });

  it("decodes the same bytes whether built as one string or in chunks", () => {
    const big = Array.from({ length: 3000 }, (_, i) => ({
      i,
      text: `línea ${i} ✓ <&>`,
      when: new Date(i * 1000),
    }));
    const bytes = encodeMethodResponseBody(big);
    assert.ok(Buffer.isBuffer(bytes), "a big reply is written as bytes");
    assert.equal(bytes.toString("utf8"), encodeMethodResponse(big));
    assert.equal(encodeMethodResponseBody([1, "small"]), encodeMethodResponse([1, "small"]));
    assert.equal(encodeMethodResponseBody(true), encodeMethodResponse(true));
    assert.deepEqual(decodeMethodResponse(bytes.toString("utf8")), { value: big });
  });

  it("decodes ints beyond 2^53 as bigint and within as number", () => {
    assert.equal(first(param("<i8>9007199254740991</i8>")), 9007199254740991);
    assert.equal(first(param("<i8>9007199254740993</i8>")), 9007199254740993n);
    assert.equal(first(param("<int>-99999999999999999999</int>")), -99999999999999999999n);
    assert.equal(first(param("<i4> +42 </i4>")), 42);
  });

  it("writes dates in Python's naive UTC form and reads the other ISO forms", () => {
    assert.match(encodeMethodResponse(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))), /20240102T03:04:05</);
    const expected = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
    for (const text of [
      "20240102T03:04:05",
      "2024-01-02T03:04:05",
      "2024-01-02T03:04:05Z",
      "20240102T030405",
    ])
      assert.deepEqual(first(param(`<dateTime.iso8601>${text}</dateTime.iso8601>`)), expected, text);
    assert.deepEqual(
      first(param("<dateTime.iso8601>2024-01-02T05:04:05+02:00</dateTime.iso8601>")),
      expected,
    );
    assert.equal(parseDateTime("20241302T00:00:00"), undefined);
    assert.equal(parseDateTime("20240230T00:00:00"), undefined);
    assert.equal(parseDateTime("yesterday"), undefined);
    parseFault(param("<dateTime.iso8601>2024-02-30T00:00:00</dateTime.iso8601>"), /dateTime/);
  });

  it("accepts what lenient clients send", () => {
    assert.equal(first(param("bare text")), "bare text");
    assert.equal(first(param("")), "");
    assert.equal(first(param("  <string>x</string>\n ")), "x");
    assert.equal(first(param("<nil/>")), null);
    assert.equal(
      first(param('<ex:nil xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"/>')),
      null,
    );
    assert.equal(first(param("<ex:i8>5</ex:i8>")), 5);
    assert.equal(first(param("<biginteger>7</biginteger>")), 7);
    assert.equal(first(param("<float>2.5</float>")), 2.5);
    assert.equal(first(param("<double>inf</double>")), Infinity);
    assert.equal(first(param("<boolean> 1 </boolean>")), true);
    assert.deepEqual(first(param("<array><value>1</value><value><int>2</int></value></array>")), ["1", 2]);
    assert.deepEqual(first(param("<array><data/></array>")), []);
    assert.deepEqual(first(param("<struct/>")), {});
    assert.equal(
      first(param("<string><![CDATA[<raw> & ]]>tail &amp; &#x263A; &#65;</string>")),
      "<raw> & tail & ☺ A",
    );
    assert.deepEqual(first(param("<base64>aGVs\nbG8=</base64>")), Buffer.from("hello"));
    assert.deepEqual(decodeMethodCall("<methodCall><methodName> ping </methodName></methodCall>"), {
      methodName: "ping",
      params: [],
    });
    assert.deepEqual(
      decodeMethodCall("<methodCall><methodName>p</methodName><params/></methodCall>").params,
      [],
    );
  });

  it("keeps a __proto__ member as data without touching any prototype", () => {
    const value = first(
      param(
        "<struct><member><name>__proto__</name><value><struct><member><name>polluted</name>" +
          "<value>yes</value></member></struct></value></member></struct>",
      ),
    ) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ["__proto__"]);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
    assert.equal(value["polluted"], undefined);
  });

  it("escapes markup, keeps \\r, and replaces characters XML 1.0 forbids with U+FFFD", () => {
    assert.equal(escapeXml("a&b<c>d\re"), "a&amp;b&lt;c&gt;d&#13;e");
    assert.equal(escapeXml("bell\x07 esc\x1b[0m nul\x00"), "bell\ufffd esc\ufffd[0m nul\ufffd");
    assert.equal(escapeXml("lone \ud800 pair \ud83d\ude00 \uffff"), "lone \ufffd pair \ud83d\ude00 \ufffd");
    assert.equal(escapeXml("tab\tnl\n"), "tab\tnl\n");
    const decoded = decodeMethodResponse(encodeMethodResponse({ "k\x01": "v\x02" }));
    assert.deepEqual(decoded, { value: { "k\ufffd": "v\ufffd" } });
  });

  it("encodes and decodes faults", () => {
    const decoded = decodeMethodResponse(encodeFault(404, "job 7 <gone> & done"));
    assert.ok(decoded.fault instanceof Fault);
    assert.equal(decoded.fault.faultCode, 404);
    assert.equal(decoded.fault.faultString, "job 7 <gone> & done");
  });

  it("leaves undefined struct members out and sends other undefined values as nil", () => {
    assert.deepEqual(decodeMethodResponse(encodeMethodResponse({ a: undefined, b: 1 })), { value: { b: 1 } });
    assert.deepEqual(decodeMethodCall(encodeMethodCall("m", [undefined])).params, [null]);
  });

  it("refuses values it cannot encode", () => {
    assert.throws(() => encodeMethodResponse(new Date(NaN)), TypeError);
    const cyclic: Record<string, XmlRpcValue> = {};
    cyclic["self"] = cyclic;
    assert.throws(() => encodeMethodResponse(cyclic), TypeError);
    assert.throws(() => encodeMethodResponse((() => 1) as unknown as XmlRpcValue), TypeError);
  });

  it("answers malformed or hostile input with a parse Fault", () => {
    parseFault("", /root/);
    parseFault("not xml at all");
    parseFault(param("<int>1</int>").slice(0, 90), /unclosed/);
    parseFault(
      '<!DOCTYPE methodCall [<!ENTITY a "aaaa">]><methodCall><methodName>m</methodName></methodCall>',
      /DOCTYPE/,
    );
    parseFault("<methodCall><methodName>m&bogus;</methodName></methodCall>", /entity/);
    parseFault("<methodCall><methodName>m&#0;</methodName></methodCall>");
    parseFault("<methodCall><methodName>m\x01</methodName></methodCall>", /character/);
    parseFault(param("<int>1.5</int>"), /integer/);
    parseFault(param("<int></int>"), /integer/);
    parseFault(param("<boolean>yes</boolean>"), /boolean/);
    parseFault(param("<double>1e</double>"), /double/);
    parseFault(param("<base64>!!!</base64>"), /base64/);
    parseFault(param("<nil>x</nil>"), /nil/);
    // Long hostile scalars: each check must stay linear (a backtracking pattern would hang right here).
    parseFault(param(`<base64>A${" ".repeat(100_000)}!</base64>`), /base64/);
    parseFault(param(`<double>${"1".repeat(100_000)}x</double>`), /double/);
    parseFault(param(`<int>${"9".repeat(5000)}</int>`), /4300 digits/);
    assert.equal(first(param(`<int>-${"9".repeat(4300)}</int>`)), -(10n ** 4300n - 1n));
    // Inputs that would make a careless scanner search the rest of the document again and again.
    parseFault(param("&".repeat(100_000)), /entity/);
    parseFault(param("&a".repeat(50_000)), /entity/);
    parseFault(param("<".repeat(100_000)));
    parseFault(param("<!--".repeat(50_000)));
    parseFault(param(`<struct ${"a".repeat(100_000)}`));
    parseFault(param(`<struct a=${'"'.repeat(100_000)}>`));
    const longName = "n".repeat(100_000);
    const member = (name: string): string => `<member><name>${name}</name><value>1</value></member>`;
    const structs = Array.from(
      { length: 50 },
      (_, i) => `<value><struct>${member(longName + (i % 2 ? "x" : ""))}</struct></value>`,
    );
    assert.equal((first(param(`<array><data>${structs.join("")}</data></array>`)) as unknown[]).length, 50);
    parseFault(param("<int>1</int><int>2</int>"), /more than one/);
    parseFault(param("text<int>1</int>"), /mixes/);
    parseFault(param("<struct>stray</struct>"), /unexpected text/);
    parseFault(param("<struct><member><value>1</value></member></struct>"), /without a <name>/);
    parseFault(param("<struct><member><name>a</name></member></struct>"), /without a <value>/);
    parseFault(param("<object/>"), /unknown element/);
    parseFault(call("<param></param>"), /without a <value>/);
    parseFault("<methodCall><params/></methodCall>", /methodName/);
    parseFault(
      "<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>",
      /more than one/,
    );
    parseFault("<methodResponse><params/></methodResponse>", /methodCall/);
    parseFault("<params/>", /root/);
    parseFault("<methodCall><methodName>a</methodName></methodCall><methodCall/>");
    const deep = (n: number): string =>
      "<array><data><value>".repeat(n) + "</value></data></array>".repeat(n);
    assert.equal(decodeMethodCall(param(deep(18))).params.length, 1);
    parseFault(param(deep(30)), /deeper than 64/);
    assert.throws(() => decodeMethodCall(param(deep(4)), { maxDepth: 10 }), /deeper than 10/);
  });

  it("answers malformed responses with a parse Fault", () => {
    const bad = [
      "<methodResponse></methodResponse>",
      "<methodResponse><params><param><value>1</value></param><param><value>2</value></param></params></methodResponse>",
      "<methodResponse><fault><value><string>x</string></value></fault></methodResponse>",
      "<methodResponse><fault><value><struct></struct></value></fault></methodResponse>",
      "<methodCall><methodName>m</methodName></methodCall>",
    ];
    for (const xml of bad)
      assert.throws(
        () => decodeMethodResponse(xml),
        (e: unknown) => e instanceof Fault && e.faultCode === FaultCode.parse,
        xml,
      );
  });
});
