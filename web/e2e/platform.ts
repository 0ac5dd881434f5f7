// A real platform for the browser tests: `hcp up --demo` from the repository's .venv on a free
// port, with a database in a fresh temporary folder and the simulated miners on a random loopback
// /24 (as tests/conftest.py does), so runs never share a port, a database or a miner address.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { REPO_DIR, WEB_DIR } from "./env";

export const DIST_DIR = path.join(WEB_DIR, "dist");

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** A /24 inside 127/8 away from 127.0.0.x and the demo's 127.0.1.0/24, different per call. */
export function randomLoopbackSubnet(): string {
  const x = 100 + Math.floor(Math.random() * 151);
  const y = Math.floor(Math.random() * 256);
  return `127.${x}.${y}.0/24`;
}

function newestMtime(entry: string): number {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, name)));
  return newest;
}

/** Builds the console (`npm run build`) when web/dist is missing or older than its sources. */
export function ensureBuilt(): void {
  const index = path.join(DIST_DIR, "index.html");
  const sources = ["src", "public", "index.html", "vite.config.ts", "package.json", "tsconfig.json",
    path.join("openapi", "openapi.json")].map((p) => path.join(WEB_DIR, p));
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  const newest = Math.max(...sources.map(newestMtime));
  if (built >= newest) return;
  console.log(built ? "e2e: web/dist is older than its sources: npm run build" : "e2e: no web/dist: npm run build");
  execFileSync("npm", ["run", "build"], { cwd: WEB_DIR, stdio: "inherit" });
}

export interface Platform {
  url: string;
  pid: number;
  tmpDir: string;
  logFile: string;
  child: ChildProcess;
}

function logTail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export async function startPlatform(options: { metricsIntervalS?: number; readyTimeoutMs?: number } = {}): Promise<Platform> {
  const hcp = path.join(REPO_DIR, ".venv", "bin", "hcp");
  if (!existsSync(hcp)) throw new Error(`${hcp} is missing: install the platform first (make install)`);
  const [port, asicWebPort] = [await freePort(), await freePort()];
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), "hcp-e2e-"));
  const logFile = path.join(tmpDir, "hcp.log");
  // A copy of the build: a rebuild of web/dist while the tests run (make, another terminal)
  // would otherwise change the pages under them.
  const consoleDir = path.join(tmpDir, "dist");
  cpSync(DIST_DIR, consoleDir, { recursive: true });
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HCP_")));
  Object.assign(env, {
    HCP_DATABASE_URL: `sqlite+aiosqlite:///${path.join(tmpDir, "hcp.db")}`,
    HCP_SIM__ASIC_SUBNET: randomLoopbackSubnet(),
    HCP_SIM__ASIC_WEB_PORT: String(asicWebPort),
    HCP_SERVER__CONSOLE_DIR: consoleDir,
    // fleet.metrics every second (default 5 s), so a live update shows up quickly.
    HCP_METRICS__INTERVAL_S: String(options.metricsIntervalS ?? 1),
  });
  const log = openSync(logFile, "w");
  // Its own process group (detached), so stopping it stops whatever it started.
  const child = spawn(hcp, ["up", "--demo", "--port", String(port), "--host", "127.0.0.1"],
    { cwd: tmpDir, env, detached: true, stdio: ["ignore", log, log] });
  closeSync(log);
  child.unref();
  const url = `http://127.0.0.1:${port}`;
  const platform: Platform = { url, pid: child.pid ?? -1, tmpDir, logFile, child };
  try {
    await waitReady(platform, options.readyTimeoutMs ?? 60_000);
    const page = await fetch(`${url}/`, { headers: { accept: "text/html" } });
    const body = await page.text();
    if (!page.ok || !/<div id="root"/.test(body)) {
      throw new Error(`hcp up does not serve the console at / (GET / -> ${page.status}: ${body.slice(0, 200)})`);
    }
  } catch (error) {
    await stopPlatform(platform.pid, tmpDir);
    throw error;
  }
  return platform;
}

async function waitReady(platform: Platform, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (platform.child.exitCode !== null || platform.child.signalCode !== null) {
      throw new Error(`hcp up exited (${platform.child.exitCode ?? platform.child.signalCode}) before it was ready:\n${logTail(platform.logFile)}`);
    }
    try {
      const response = await fetch(`${platform.url}/ready`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`hcp up not ready within ${timeoutMs / 1000} s:\n${logTail(platform.logFile)}`);
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ctrl-C to the platform's process group, SIGKILL after 15 s; then removes its folder. */
export async function stopPlatform(pid: number, tmpDir: string): Promise<void> {
  if (pid > 0 && groupAlive(pid)) {
    process.kill(-pid, "SIGINT");
    const deadline = Date.now() + 15_000;
    while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (groupAlive(pid)) {
      console.warn(`e2e: hcp up (pid ${pid}) ignored Ctrl-C for 15 s: killed`);
      process.kill(-pid, "SIGKILL");
    }
  }
  if (process.env.HCP_E2E_KEEP_TMP) console.log(`e2e: kept ${tmpDir}`);
  else rmSync(tmpDir, { recursive: true, force: true });
}
