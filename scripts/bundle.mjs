// The agent as one JavaScript file (esbuild, which tsx already brings): dist/install/openhq-agent.mjs and its
// sha256. It is what the coordinator serves under /install/ to installers and to agents upgrading themselves,
// so a blade needs Node and this file only (about 1 MB), not the 100 MB node_modules of a checkout.
// buildInstallDir() adds the installers and service definitions: the folder the coordinator serves.
// `node scripts/bundle.mjs [outdir] [version]` builds one by hand (tests build a second version this way).
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const AGENT_ARTIFACT = "openhq-agent.mjs";

/** Writes outdir/openhq-agent.mjs and outdir/openhq-agent.mjs.sha256; returns the file's path, size and digest. */
export async function bundleAgent(outdir, version) {
  const outfile = join(outdir, AGENT_ARTIFACT);
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [join(root, "agent/main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // ws loads these native speed-ups when present and works without them.
    external: ["bufferutil", "utf-8-validate"],
    // CommonJS dependencies (ws, systeminformation) call require() on Node built-ins.
    banner: {
      js: 'import { createRequire as openhqCreateRequire } from "node:module";\nconst require = openhqCreateRequire(import.meta.url);',
    },
    define: { OPENHQ_AGENT_VERSION: JSON.stringify(version) },
    legalComments: "none",
    logLevel: "warning",
  });
  const body = readFileSync(outfile);
  const sha256 = createHash("sha256").update(body).digest("hex");
  writeFileSync(`${outfile}.sha256`, `${sha256}  ${AGENT_ARTIFACT}\n`);
  return { path: outfile, bytes: body.length, sha256 };
}

/** What the coordinator serves under /install/ besides the agent (coordinator/web/install.ts), by source. */
const INSTALL_FILES = {
  "agent.sh": "deploy/install/agent.sh",
  "agent.ps1": "deploy/install/agent.ps1",
  "agent-service.ps1": "deploy/install/agent-service.ps1",
  "idle-helper.ps1": "deploy/idle-helper.ps1",
  "openhq-agent.service": "deploy/systemd/openhq-agent.service",
  "com.openhq.agent.plist": "deploy/macos/com.openhq.agent.plist",
  "openhq.logrotate": "deploy/logrotate/openhq",
};

/** The whole /install/ folder: the bundled agent, its digest, the installers and service definitions. */
export async function buildInstallDir(outdir, version) {
  const built = await bundleAgent(outdir, version);
  for (const [name, source] of Object.entries(INSTALL_FILES))
    copyFileSync(join(root, source), join(outdir, name));
  return built;
}

export function packageVersion() {
  return JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ?? join(root, "dist/install");
  const built = await buildInstallDir(outdir, process.argv[3] ?? packageVersion());
  console.log(`${built.path}: ${built.bytes} bytes, sha256 ${built.sha256}`);
}
