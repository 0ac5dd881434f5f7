// Browser tests of the console against a real `hcp up --demo` (started by e2e/global-setup.ts on a
// free port, with its own database and simulated miners): Debian's chromium, never a downloaded one.
import { defineConfig, devices } from "@playwright/test";
import { chromiumPath } from "./e2e/env";

const ci = process.env.CI === "true";
const executablePath = chromiumPath() ?? undefined;

export default defineConfig({
  testDir: "./e2e",
  testMatch: "**/*.spec.ts",
  globalSetup: "./e2e/global-setup.ts",
  globalTeardown: "./e2e/global-teardown.ts",
  fullyParallel: false,
  workers: 1, // two cores, shared with the platform under test
  retries: ci ? 1 : 0,
  forbidOnly: ci,
  reporter: "list",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  outputDir: "test-results",
  use: {
    headless: true,
    trace: "on-first-retry",
    actionTimeout: 15_000,
    // The base URL is the platform's, known only once global setup has started it: the `baseURL`
    // fixture in e2e/fixtures.ts reads it from the environment.
    launchOptions: executablePath ? { executablePath } : {},
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"] } }],
});
