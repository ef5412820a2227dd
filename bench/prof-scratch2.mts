// scratch: coordinator CPU per set-up (not committed)
import { readFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { iniArgs } from "../test/support/farm-kit.js";
import { dispatchRate, farm, fill, plain } from "./scale.js";
let received = 0;
const receiver = createServer((req, res) => { req.resume(); req.on("end", () => { received++; res.writeHead(200).end(); }); });
await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
const port = (receiver.address() as { port: number }).port;
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" "); return (Number(f[11]) + Number(f[12])) * 10; };
const hookIni = `openhq.webhooks.bench.url = http://127.0.0.1:${port}/hook\nopenhq.webhooks.bench.events = succeeded,failed\nopenhq.webhooks.bench.secret = s\n`;
for (let round = 0; round < Number(process.env.R ?? 2); round++)
for (const which of ["plain", "sse", "hook", "both"]) {
  const ini = which === "hook" || which === "both" ? hookIni : "";
  const f = await farm(ini ? { args: iniArgs(`[main]\n${ini}`) } : {});
  if (which === "sse" || which === "both") { const req = request(`${f.coord.url}/events`); req.on("response", (r) => r.resume()); req.end(); }
  await fill(f, 5000, plain());
  const c0 = cpu(f.coord.process.pid!); const r0 = received;
  const rate = await dispatchRate(f, 2500);
  const c1 = cpu(f.coord.process.pid!);
  const done = await f.redis.zcard(f.keys.jobsByStatus("succeeded"));
  console.log(which.padEnd(6), Math.round(rate), "jobs/s", Math.round((c1 - c0) / done * 1000), "coord ms/1000 jobs", received - r0, "deliveries");
  await f.stop();
}
receiver.close();
