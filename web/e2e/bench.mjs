// The console's budgets, measured in Debian's chromium against a running platform; driven by
// bench/web_console.py, which starts `hcp up --demo` and reads the JSON this prints on stdout.
//
//   node web/e2e/bench.mjs --url http://127.0.0.1:PORT --chromium /usr/bin/chromium [--runs 5] [--latency-runs 10]
//
// Every load is cold: a new browser context (empty cache, no session) per run.
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    runs: { type: "string", default: "5" },
    "latency-runs": { type: "string", default: "10" },
  },
});
if (!values.url) {
  console.error("bench.mjs: --url is required");
  process.exit(2);
}
const base = values.url.replace(/\/$/, "");
const runs = Number(values.runs);
const latencyRuns = Number(values["latency-runs"]);
const OPERATOR = { role: "Operator", email: "ops@mara.com", password: "operator123", headline: "Hashrate" };
const CUSTOMER = { email: "john@acme.com", password: "customer123" };

const log = (line) => console.error(`  ${line}`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function withContext(browser, fn) {
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 720 } });
  try {
    return await fn(await context.newPage());
  } finally {
    await context.close();
  }
}

/** (a) The JavaScript a cold load of the landing page fetches: bytes, gzipped, on the wire. */
async function landingJavaScript(browser) {
  return withContext(browser, async (page) => {
    const pending = [];
    page.on("response", (response) => {
      const type = response.headers()["content-type"] ?? "";
      const path = new URL(response.url()).pathname;
      if (!(type.includes("javascript") || /\.m?js$/.test(path))) return;
      pending.push((async () => {
        const body = await response.body();
        const sizes = await response.request().sizes();
        return { path, raw: body.length, gzip: gzipSync(body, { level: 9 }).length, transfer: sizes.responseBodySize,
          encoding: response.headers()["content-encoding"] ?? "identity" };
      })());
    });
    await page.goto("/", { waitUntil: "load" });
    await page.getByRole("heading", { level: 1 }).first().waitFor();
    await page.waitForLoadState("networkidle");
    const files = await Promise.all(pending);
    const sum = (key) => files.reduce((total, file) => total + file[key], 0);
    for (const file of files) log(`landing JS ${file.path}: ${file.raw} B, ${file.gzip} B gzipped, ${file.transfer} B on the wire (${file.encoding})`);
    return { files, raw_bytes: sum("raw"), gzip_bytes: sum("gzip"), transfer_bytes: sum("transfer") };
  });
}

/** (b) First contentful paint of the landing page, cold. */
async function landingFcp(browser) {
  return withContext(browser, async (page) => {
    await page.goto("/", { waitUntil: "load" });
    await page.getByRole("heading", { level: 1 }).first().waitFor();
    const fcp = await page.evaluate(() => new Promise((resolve) => {
      new PerformanceObserver((list, observer) => {
        const entry = list.getEntriesByName("first-contentful-paint")[0];
        if (entry) {
          observer.disconnect();
          resolve(entry.startTime);
        }
      }).observe({ type: "paint", buffered: true });
    }));
    return fcp;
  });
}

/** (c) From the click on "Sign in" to the operator's headline number showing a value, cold. */
async function dashboardInteractive(browser) {
  return withContext(browser, async (page) => {
    await page.goto(`/signin?role=${OPERATOR.role.toLowerCase()}`);
    await page.getByRole("textbox", { name: "Email", exact: true }).fill(OPERATOR.email);
    await page.getByRole("textbox", { name: "Password", exact: true }).fill(OPERATOR.password);
    const button = page.getByRole("button", { name: "Sign in", exact: true });
    await button.waitFor();
    const start = Date.now();
    await button.click();
    await page.getByRole("region", { name: OPERATOR.headline, exact: true }).filter({ hasText: /\d/ }).waitFor({ timeout: 30_000 });
    return Date.now() - start;
  });
}

async function apiToken(user) {
  const response = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(user),
  });
  if (response.status !== 200) throw new Error(`login as ${user.email}: ${response.status} ${await response.text()}`);
  return (await response.json()).access_token;
}

/** (d) From submitting a workload through the API to its name on the open customer dashboard. */
async function eventToScreen(browser) {
  return withContext(browser, async (page) => {
    await page.goto("/signin?role=customer");
    await page.getByRole("textbox", { name: "Email", exact: true }).fill(CUSTOMER.email);
    await page.getByRole("textbox", { name: "Password", exact: true }).fill(CUSTOMER.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Customer dashboard", exact: true }).waitFor({ timeout: 30_000 });
    await page.getByLabel("Live updates: live").first().waitFor({ timeout: 30_000 });
    const token = await apiToken(CUSTOMER);
    const latencies = [];
    for (let i = 0; i < latencyRuns; i++) {
      const name = `bench-${Date.now().toString(36)}-${i}`;
      // The page notes the wall time of the DOM change that first shows the name.
      await page.evaluate((wanted) => {
        window.__hcpSeen = new Promise((resolve) => {
          const observer = new MutationObserver(() => {
            if (document.body.innerText.includes(wanted)) {
              observer.disconnect();
              resolve(performance.timeOrigin + performance.now());
            }
          });
          observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        });
      }, name);
      const start = Date.now();
      const response = await fetch(`${base}/api/v1/workloads`, {
        method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ name, type: "batch", priority: 5, gpu_model: "any", gpu_count: 1, duration_s: 3600 }),
      });
      if (response.status !== 201) throw new Error(`submit ${name}: ${response.status} ${await response.text()}`);
      const seen = await page.evaluate(() => Promise.race([
        window.__hcpSeen, new Promise((resolve) => setTimeout(() => resolve(null), 10_000))]));
      const ms = seen === null ? null : seen - start;
      log(`event to screen, run ${i + 1}: ${ms === null ? "not shown within 10 s" : `${ms.toFixed(0)} ms`}`);
      latencies.push(ms);
      await page.waitForTimeout(300); // let the dashboard settle between submissions
    }
    return latencies;
  });
}

const browser = await chromium.launch({ executablePath: values.chromium, headless: true });
try {
  const javascript = await landingJavaScript(browser);
  const fcp = [];
  for (let i = 0; i < runs; i++) {
    fcp.push(await landingFcp(browser));
    log(`landing FCP, run ${i + 1}: ${fcp.at(-1).toFixed(0)} ms`);
  }
  const interactive = [];
  for (let i = 0; i < runs; i++) {
    interactive.push(await dashboardInteractive(browser));
    log(`dashboard interactive, run ${i + 1}: ${interactive.at(-1)} ms`);
  }
  const latencies = await eventToScreen(browser);
  const shown = latencies.filter((ms) => ms !== null);
  console.log(JSON.stringify({
    landing_js: javascript,
    landing_fcp_ms: { runs: fcp, median: median(fcp) },
    dashboard_interactive_ms: { runs: interactive, median: median(interactive) },
    event_to_screen_ms: {
      runs: latencies, missed: latencies.length - shown.length,
      median: shown.length ? median(shown) : null, max: shown.length ? Math.max(...shown) : null,
    },
  }));
} finally {
  await browser.close();
}
