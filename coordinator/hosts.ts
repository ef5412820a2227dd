// Which names the coordinator answers to. A browser lets a page talk to whatever a DNS name resolves to, so
// a hostile page on `attacker.example` can re-point its name at the farm (DNS rebinding) and become
// "same-origin" with it; its requests still carry `Host: attacker.example`, so refusing unknown Host names
// closes that door. IP-literal hosts cannot be rebound and are always accepted. Only browsers are held to
// the list (and every GET, the dashboard's): XML-RPC POSTs and WebSocket handshakes without Origin or
// Sec-Fetch-* come from scripts and agents, and are answered for any Host, as HQueue does (DNS aliases).
//
//   openhq.allowedHosts   names (comma or space separated) besides the defaults; "*" = any Host
//                                                                             env OPENHQ_ALLOWED_HOSTS
// Defaults: localhost (and *.localhost), this machine's host name and its first label, the host of
// openhq.serverUrl, the listening address.

import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { hostname } from "node:os";

export class HostList {
  private readonly names: Set<string>;

  constructor(
    names: Iterable<string>,
    readonly any: boolean,
  ) {
    this.names = new Set([...names].map(normal).filter((n) => n !== ""));
  }

  /** Whether a Host header (name[:port]) names this coordinator. A request without Host is no browser's. */
  allows(host: string | undefined): boolean {
    if (host === undefined || this.any) return true;
    const name = hostOf(host);
    if (name === null) return false;
    if (isIP(name) !== 0) return true;
    return this.names.has(name) || name === "localhost" || name.endsWith(".localhost");
  }

  list(): string[] {
    return [...this.names];
  }
}

/** The name part of a Host header or URL host, lowercased, without port, brackets or trailing dot. */
export function hostOf(host: string): string | null {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i.exec(host.trim());
  if (!match?.[1]) return null;
  return normal(match[1]);
}

function normal(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
}

export function loadHostList(
  raw: Record<string, string>,
  env: NodeJS.ProcessEnv,
  serverUrl: string,
  listenHost: string,
): HostList {
  const configured = (env["OPENHQ_ALLOWED_HOSTS"] ?? raw["openhq.allowedHosts"] ?? "")
    .split(/[\s,]+/)
    .filter(Boolean);
  const names = [hostname(), hostname().split(".")[0] ?? "", listenHost, ...configured];
  try {
    names.push(new URL(serverUrl).hostname);
  } catch {
    // a bad serverUrl shows elsewhere
  }
  return new HostList(names, configured.includes("*"));
}

/**
 * Whether a request carries a browser's marks: every browser sends Origin with a POST and a WebSocket
 * handshake, and Sec-Fetch-* to secure origins. Scripts (Python's xmlrpc.client, curl, agents) send neither,
 * and a DNS-rebound page cannot make a browser leave them out.
 */
export function fromBrowser(req: IncomingMessage): boolean {
  const headers = req.headers;
  return (
    headers.origin !== undefined ||
    headers["sec-fetch-site"] !== undefined ||
    headers["sec-fetch-mode"] !== undefined
  );
}

/** Whether a request's Origin (when it has one) is this very site: same scheme-less host:port as Host. */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false; // "null" (sandboxed frames, file: pages) or garbage
  }
}
