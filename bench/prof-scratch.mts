// scratch: profile one set-up (not committed)
import { createServer, request } from "node:http";
import { iniArgs } from "../test/support/farm-kit.js";
import { dispatchRate, farm, fill, plain } from "./scale.js";
const which = process.argv[2] ?? "live";
const receiver = createServer((req, res) => { req.resume(); req.on("end", () => res.writeHead(200).end()); });
await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
const port = (receiver.address() as { port: number }).port;
const ini = which === "plain" ? "" : `openhq.webhooks.bench.url = http://127.0.0.1:${port}/hook\nopenhq.webhooks.bench.events = succeeded,failed\nopenhq.webhooks.bench.secret = s\n${process.env.EXTRA ?? ""}`;
const dir = `/tmp/nprof/${which}`;
const f = await farm({ ...(ini ? { args: iniArgs(`[main]\n${ini}`) } : {}), env: { NODE_OPTIONS: "--import /tmp/nprof/preload.mjs", PROF_DIR: dir } });
if (process.env.SSE !== "0" && which !== "plain") { const req = request(`${f.coord.url}/events`); req.on("response", (r) => r.resume()); req.end(); }
await fill(f, 10000, plain());
const rate = await dispatchRate(f, 8000);
console.log(which, Math.round(rate));
await f.stop(); receiver.close();
