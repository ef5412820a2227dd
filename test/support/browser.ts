// Debian's Chromium through playwright-core for the dashboard tests (never `npx playwright install`): a
// headless persistent context in a temporary profile, closed and removed after the test.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

export async function browser(
  t: { after(fn: () => Promise<void>): void },
  options: { httpCredentials?: { username: string; password: string }; timezoneId?: string } = {},
): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), "openhq-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1400, height: 900 },
    ...options,
  });
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

/** Skips the test where Chromium is missing, and says so: the test returns when this is true. */
export function skippedWithoutChromium(t: { skip(message?: string): void }): boolean {
  if (hasChromium()) return false;
  t.skip(`${CHROMIUM} is missing (apt-get install chromium)`);
  return true;
}
