// Starts the platform the specs drive (see platform.ts) and tells the workers where it is.
import { BASE_URL_ENV, NO_CHROMIUM, PID_ENV, TMP_ENV, chromiumPath } from "./env";
import { ensureBuilt, startPlatform } from "./platform";

export default async function globalSetup(): Promise<void> {
  if (!chromiumPath()) {
    console.warn(`e2e: ${NO_CHROMIUM}; every test is skipped`);
    return;
  }
  ensureBuilt();
  const platform = await startPlatform({ metricsIntervalS: 1 });
  process.env[BASE_URL_ENV] = platform.url;
  process.env[PID_ENV] = String(platform.pid);
  process.env[TMP_ENV] = platform.tmpDir;
  console.log(`e2e: hcp up --demo at ${platform.url} (log: ${platform.logFile})`);
}
