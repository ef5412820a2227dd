// The logins of a test farm with access control on (openhq.auth, docs/SECURITY.md): an admin and a read-only
// user, the environment that defines them, and the ways a test speaks as one of them.

import { Buffer } from "node:buffer";
import type { TestContext } from "node:test";
import { HQServer } from "../../shared/client/index.js";
import { startCoordinator, type TestCoordinator } from "./coordinator.js";

export interface Login {
  username: string;
  password: string;
}

export const ADMIN: Login = { username: "boss", password: "boss-pw" };
export const VIEWER: Login = { username: "viewer", password: "view-pw" };

/** The coordinator's environment for access control with ADMIN, VIEWER and `more` ("name:role:password"). */
export function authEnv(...more: string[]): Record<string, string> {
  return {
    OPENHQ_AUTH: "on",
    OPENHQ_AUTH_USERS: ["boss:admin:boss-pw", "viewer:readonly:view-pw", ...more].join(" "),
  };
}

/** `url` with the login in it, as xmlrpc.client, HQServer and fetch take credentials. */
export function urlAs(url: string, login: Login): string {
  return url.replace("://", `://${login.username}:${login.password}@`);
}

/** An Authorization header's value for the login. */
export function basicAuth(login: Login): string {
  return `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;
}

/** A coordinator with access control on (authEnv) and a client logged in as ADMIN, both ended with the test. */
export async function guardedCoordinator(
  t: TestContext,
): Promise<{ coordinator: TestCoordinator; admin: HQServer }> {
  const coordinator = await startCoordinator({ env: authEnv() });
  t.after(() => coordinator.stop());
  const admin = new HQServer(urlAs(coordinator.url, ADMIN));
  t.after(() => admin.rpc.close());
  return { coordinator, admin };
}
