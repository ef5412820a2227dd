// "Add a machine": GET /install shows the one-line installers for this coordinator, and /install/<file>
// serves what they fetch: agent.sh (Linux, macOS), agent.ps1 (Windows), the single-file agent
// (openhq-agent.mjs, scripts/bundle.mjs) with its .sha256 and its signature (.sig, made here with the farm's
// key, web/artifact-signing.ts), the farm's public key (signing-key.pub, which installers pin), and the
// service definitions the scripts install. Agents upgrading themselves (agent/upgrade.ts) fetch the same
// artifact and check its signature against the pinned key.
//
// The files come from the folder `npm run build` fills (dist/install), or openhq.install.dir /
// OPENHQ_INSTALL_DIR. Access follows the dashboard's (coordinator/auth.ts): with access control on, a user
// who may read the dashboard may fetch them, and so may anyone sending the farm secret as the Basic auth
// password (the installers and agents do), since a blade being installed has no user account. The page shows
// the farm secret to a logged-in admin only: with access control off nobody logs in, so it shows a
// placeholder and how to read the secret on the coordinator's host (`openhq secret`).
//
// The lines speak the scheme the page was reached by; on HTTPS with a private CA (or a self-signed
// certificate) they carry the CA file: `curl --cacert FILE` and the installer's `--ca-file FILE`.

import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TLSSocket } from "node:tls";
import { basicCredentials } from "../../shared/basic-auth.js";
import { farmSecretMatches } from "../link/farm-secret.js";
import type { Auth } from "../auth.js";
import type { Context } from "../context.js";
import { farmPublicKey, signatureOf } from "./artifact-signing.js";
import { html, layout, type Html } from "./html.js";

/** What /install/ serves; anything else is a 404. The scripts get this coordinator's address filled in. */
const FILES: Record<string, { type: string; script?: true }> = {
  "agent.sh": { type: "text/x-shellscript; charset=utf-8", script: true },
  "agent.ps1": { type: "text/plain; charset=utf-8", script: true },
  "openhq-agent.mjs": { type: "text/javascript; charset=utf-8" },
  "openhq-agent.mjs.sha256": { type: "text/plain; charset=utf-8" },
  "openhq-agent.mjs.sig": { type: "text/plain; charset=utf-8" },
  "signing-key.pub": { type: "text/plain; charset=utf-8" },
  "openhq-agent.service": { type: "text/plain; charset=utf-8" },
  "com.openhq.agent.plist": { type: "application/xml; charset=utf-8" },
  "openhq.logrotate": { type: "text/plain; charset=utf-8" },
  "idle-helper.ps1": { type: "text/plain; charset=utf-8" },
  "agent-service.ps1": { type: "text/plain; charset=utf-8" },
};
/** The installers' placeholder for the coordinator's URL. */
const URL_PLACEHOLDER = "@OPENHQ_URL@";
/** The user name installers and agents send with the farm secret (any name is accepted). */
export const INSTALL_USER = "openhq-agent";

/**
 * The farm secret agents present (today openhq.farmSecret). The one place this module reads it, so a
 * generated secret only changes this function.
 */
export function farmSecret(ctx: Context): string | null {
  return ctx.settings.farmSecret;
}

/** Where the install files are: openhq.install.dir, else dist/install of this checkout or install. */
export function installDir(ctx: Context, env: NodeJS.ProcessEnv = process.env): string {
  const configured = env["OPENHQ_INSTALL_DIR"] ?? ctx.settings.raw["openhq.install.dir"];
  if (configured) return configured;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "dist", "install");
    const parent = dirname(dir);
    if (parent === dir) return join(process.cwd(), "dist", "install");
    dir = parent;
  }
}

/** Where installers put the farm's CA on a blade, in the lines the page shows. */
export const CA_FILE_PLACEHOLDER = "/etc/openhq/farm-ca.pem";

/** This coordinator as the requester reached it: its scheme, and the Host header when it is a plain host[:port]. */
function baseUrl(req: IncomingMessage, ctx: Context): string {
  const host = req.headers.host ?? "";
  const scheme = (req.socket as Partial<TLSSocket>).encrypted === true ? "https" : "http";
  if (/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.test(host)) return `${scheme}://${host}`;
  return ctx.settings.serverUrl.replace(/\/+$/, "");
}

async function sendsFarmSecret(ctx: Context, req: IncomingMessage): Promise<boolean> {
  const credentials = basicCredentials(req.headers.authorization);
  if (credentials === null || credentials === "malformed") return false;
  return farmSecretMatches(ctx, credentials.password);
}

type Send = (status: number, type: string, body: string | Buffer) => void;

/** Whether installRoute answers this request (it checks credentials itself: agents send the farm secret). */
export function isInstallRequest(req: IncomingMessage): boolean {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  return path === "/install" || path.startsWith("/install/");
}

/** Handles /install and /install/<file>; returns false for any other path. */
export async function installRoute(
  ctx: Context,
  auth: Auth,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  send: Send,
): Promise<boolean> {
  if (path !== "/install" && !path.startsWith("/install/")) return false;
  const secret = farmSecret(ctx);
  if (path === "/install") {
    await auth.authenticate(req);
    if (!auth.allowWeb(req, res, false)) return true;
    // With access control off nobody has logged in: the page is anonymous, and never shows the secret.
    const admin = auth.enabled && auth.check(req, true).ok;
    const page = await installPage(ctx, baseUrl(req, ctx), secret, admin, auth.enabled);
    send(200, "text/html; charset=utf-8", page.text);
    return true;
  }
  const name = path.slice("/install/".length);
  const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (file === undefined) {
    send(404, "text/plain; charset=utf-8", "not found\n");
    return true;
  }
  // Agents fetch these with the farm secret as their password: that is no user's failed login.
  if (!(await sendsFarmSecret(ctx, req))) {
    await auth.authenticate(req);
    if (!auth.allowWeb(req, res, false)) return true;
  }
  let body: Buffer;
  try {
    if (name === "signing-key.pub") body = Buffer.from(`${await farmPublicKey(ctx)}\n`);
    else if (name === "openhq-agent.mjs.sig")
      body = Buffer.from(`${await signatureOf(ctx, join(installDir(ctx), "openhq-agent.mjs"))}\n`);
    else body = await readFile(join(installDir(ctx), name));
  } catch {
    send(503, "text/plain; charset=utf-8", `${name} is not built on this coordinator: run npm run build\n`);
    return true;
  }
  if (file.script) body = Buffer.from(body.toString("utf8").replaceAll(URL_PLACEHOLDER, baseUrl(req, ctx)));
  send(200, file.type, body);
  return true;
}

async function artifactFacts(ctx: Context): Promise<{ sha256: string; bytes: number } | null> {
  const dir = installDir(ctx);
  try {
    const digest = (await readFile(join(dir, "openhq-agent.mjs.sha256"), "utf8")).split(/\s/)[0] ?? "";
    const bytes = (await readFile(join(dir, "openhq-agent.mjs"))).length;
    return { sha256: digest, bytes };
  } catch {
    return null;
  }
}

/** A value for a POSIX shell command line, single-quoted when it needs to be. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A PowerShell single-quoted string. */
function psString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

async function installPage(
  ctx: Context,
  url: string,
  secret: string | null,
  admin: boolean,
  authOn: boolean,
): Promise<Html> {
  const shown = secret === null ? null : admin ? secret : "FARM-SECRET";
  const privateCa = url.startsWith("https:") && ctx.settings.tlsPrivateCa === true;
  const curlAuth = shown !== null && authOn ? ` -u ${shellWord(`${INSTALL_USER}:${shown}`)}` : "";
  const curlCa = privateCa ? ` --cacert ${CA_FILE_PLACEHOLDER}` : "";
  const shCa = privateCa ? ` --ca-file ${CA_FILE_PLACEHOLDER}` : "";
  const shSecret = shown === null ? "" : ` --secret ${shellWord(shown)}`;
  const unix = `curl -fsSL${curlCa}${curlAuth} ${url}/install/agent.sh | sudo sh -s --${shCa}${shSecret}`;
  const psAuth =
    shown !== null && authOn
      ? ` -Headers @{Authorization='Basic ${Buffer.from(`${INSTALL_USER}:${shown}`).toString("base64")}'}`
      : "";
  const psCa = privateCa ? ` -CaFile 'C:\\ProgramData\\openhq\\farm-ca.pem'` : "";
  const psSecret = shown === null ? "" : ` -Secret ${psString(shown)}`;
  const windows = `& ([scriptblock]::Create((Invoke-RestMethod${psAuth} ${url}/install/agent.ps1)))${psCa}${psSecret}`;
  const artifact = await artifactFacts(ctx);
  const body = html`<h1>Add a machine</h1>
    <p>
      Run one line on the render node or workstation. It installs Node.js when it is missing, the openhq agent
      (one file, fetched from this coordinator), its <code>hqnode.ini</code> pointing back at
      <code>${url}</code>${secret === null ? "" : " with the farm secret"}, and a service that starts it at
      boot. Running the line again upgrades the agent in place; <em>Upgrade agent</em> on a client's page does
      the same from here.
    </p>
    ${
      secret !== null && !admin
        ? html`<p class="note">
            Replace <code>FARM-SECRET</code> with the farm secret: on the coordinator's host, an admin reads
            it with
            <code>openhq secret</code
            >${authOn ? html`, or logs in here as an admin to see it in the lines` : ""}. It is never shown to
            a visitor who has not logged in as an admin.
          </p>`
        : ""
    }
    ${
      privateCa
        ? html`<p class="note">
            This coordinator's certificate is not issued by a public CA: copy the farm's CA certificate (PEM)
            to <code>${CA_FILE_PLACEHOLDER}</code> on the machine first (on Windows, to
            <code>C:\\ProgramData\\openhq\\farm-ca.pem</code>, with the CA also trusted by Windows, e.g. by
            Group Policy or <code>Import-Certificate -CertStoreLocation Cert:\\LocalMachine\\Root</code>). The
            agent keeps using it (<code>caFile</code> in <code>hqnode.ini</code>).
          </p>`
        : ""
    }
    <h2>Linux and macOS</h2>
    <pre class="install-line"><code>${unix}</code></pre>
    <p>
      Running the line again on a machine updates <code>server</code>, <code>caFile</code>, the token and the
      pinned signing key in its <code>hqnode.ini</code> and says what changed. Add
      <code>--ca-file FILE</code> for a private CA, <code>--name NAME</code> for a second agent on one
      machine, <code>--prefix DIR</code> to install elsewhere than <code>/opt/openhq</code>,
      <code>--no-service</code> to start the agent without systemd or launchd, <code>--uninstall</code> to
      remove it (<code>--purge</code> also removes its settings, state and logs).
    </p>
    <h2>Windows</h2>
    <p>In an administrator PowerShell:</p>
    <pre class="install-line"><code>${windows}</code></pre>
    <p>
      Set the shared folder as a UNC path with <code>-HqRoot \\\\server\\share</code> (a service cannot see
      mapped drive letters); <code>-Uninstall</code> removes the agent.
    </p>
    <h2>The agent</h2>
    ${
      artifact === null
        ? html`<p class="error">
            The agent is not built on this coordinator: run <code>npm run build</code>.
          </p>`
        : html`<p>
            <a href="/install/openhq-agent.mjs">openhq-agent.mjs</a> (${(artifact.bytes / 1048576).toFixed(1)}
            MB, sha256 <code>${artifact.sha256}</code>) runs with Node.js 20 or newer. It is signed with the
            farm's ed25519 key (<a href="/install/signing-key.pub">signing-key.pub</a>), which the installers
            pin: an agent installs an upgrade only with a valid signature by that key.
          </p>`
    }`;
  return layout("Add a machine", "/install", body);
}
