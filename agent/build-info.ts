// What scripts/bundle.mjs bakes into the single-file agent (esbuild `define`). Run from dist/ or from the
// sources the constant does not exist, and the agent reads package.json instead.

declare const OPENHQ_AGENT_VERSION: string | undefined;

/** The version the bundled agent was built as; null when not running from the bundle. */
export const bundledVersion: string | null =
  typeof OPENHQ_AGENT_VERSION === "string" ? OPENHQ_AGENT_VERSION : null;
