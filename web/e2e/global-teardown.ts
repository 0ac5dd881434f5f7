// Stops the platform that global setup started (its whole process group) and removes its folder.
import { PID_ENV, TMP_ENV } from "./env";
import { stopPlatform } from "./platform";

export default async function globalTeardown(): Promise<void> {
  const pid = Number(process.env[PID_ENV] ?? 0);
  const tmpDir = process.env[TMP_ENV];
  if (pid > 0 && tmpDir) await stopPlatform(pid, tmpDir);
}
