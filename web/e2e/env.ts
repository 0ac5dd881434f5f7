// Where the browser and the platform under test are: shared by the config, the global setup and
// the specs (imported by the config, so no Playwright import here).
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = path.resolve(WEB_DIR, "..");
export const DEBIAN_CHROMIUM = "/usr/bin/chromium";
export const NO_CHROMIUM = "no chromium: install Debian's chromium or set HCP_CHROMIUM";

/** The chromium to drive: $HCP_CHROMIUM (the Makefile sets it from scripts/chromium.sh), else
 * Debian's; null when neither exists (every test then skips with NO_CHROMIUM). */
export function chromiumPath(): string | null {
  const candidate = process.env.HCP_CHROMIUM || DEBIAN_CHROMIUM;
  return existsSync(candidate) ? candidate : null;
}

/** Set by global setup for the workers: the origin of the running platform. */
export const BASE_URL_ENV = "HCP_E2E_BASE_URL";
export const PID_ENV = "HCP_E2E_PID";
export const TMP_ENV = "HCP_E2E_TMPDIR";
