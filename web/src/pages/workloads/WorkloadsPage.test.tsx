import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { MemoryRouter, useLocation } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { liveQueryDefaults } from "../../live/cache";
import type { Workload } from "./queries";
import WorkloadsPage from "./WorkloadsPage";

type Reply = { status?: number; body: unknown };
type Handler = (method: string, url: URL) => Reply;
let handler: Handler;
const requests: string[] = [];

beforeEach(() => {
  requests.length = 0;
  vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    const { status = 200, body } = handler(request.method, url);
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }));
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const workload = (id: string, over: Partial<Workload> = {}): Workload => ({
  id, name: `job-${id}`, tenant_id: "t1", type: "ai_training", priority: 5, gpu_model: "H100", gpu_count: 2,
  duration_s: 3600, max_price_usd_per_gpu_hour: null, preemptible: true, status: "queued", units: [],
  facility_id: null, submitted_at: "2026-01-01T10:00:00Z", queued_at: "2026-01-01T10:00:00Z", started_at: null,
  finished_at: null, failure_reason: null, wait_reason: "waiting for GPUs", preemptions: 0, created_by: null, ...over,
});

const tenants = {
  items: [
    { id: "t1", slug: "acme", name: "Acme Corp", created_at: "2026-01-01T00:00:00Z" },
    { id: "t2", slug: "globex", name: "Globex", created_at: "2026-01-01T00:00:00Z" },
  ],
  total: 2,
};
const queue = (name: string, type: string, over: object = {}) => ({
  name, type, start_slo_s: 600, depth: 0, gpus_waiting: 0, oldest_wait_s: null, median_wait_s: null, over_slo: 0,
  placed: 0, gpus_placed: 0, ...over,
});
const queues = {
  at: "2026-01-01T10:20:00Z",
  classes: [
    queue("inference", "ai_inference", { start_slo_s: 5, depth: 2, gpus_waiting: 2, oldest_wait_s: 125, median_wait_s: 65, over_slo: 2 }),
    queue("training", "ai_training", { depth: 1, gpus_waiting: 2, oldest_wait_s: 1200, median_wait_s: 1200, over_slo: 1, placed: 1 }),
    queue("batch", "batch", { start_slo_s: 3600 }),
  ],
};
const summary = { count: 40, min_ms: 351, p50_ms: 412.3, p95_ms: 470.1, p99_ms: 478.9, max_ms: 480, mean_ms: 415,
  target_ms: 500, over_target: 0 };
const running = workload("w2", { name: "chat-serve", tenant_id: "t2", status: "running", units: ["gpu-3", "gpu-4"],
  facility_id: "tx-north", started_at: "2026-01-01T10:05:00Z" });
const placements = { items: [{ workload_id: "w2", name: "chat-serve", tenant_id: "t2", type: "ai_training",
  status: "running", gpu_model: "H100", gpu_count: 2, facility_id: "tx-north", units: ["gpu-3", "gpu-4"],
  started_at: "2026-01-01T10:05:00Z" }], total: 1 };

function Where() {
  const location = useLocation();
  return <output data-testid="location">{location.pathname + location.search}</output>;
}

function renderAt(url: string) {
  const client = new QueryClient({ defaultOptions: { queries: { ...liveQueryDefaults, retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[url]}>
        <WorkloadsPage />
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return client;
}

function common(url: URL): Reply | undefined {
  if (url.pathname === "/api/v1/auth/tenants") return { body: tenants };
  if (url.pathname === "/api/v1/workloads/queues") return { body: queues };
  if (url.pathname === "/api/v1/workloads/placements") return { body: placements };
  if (url.pathname === "/api/v1/orchestrator/switches/summary") return { body: summary };
  return undefined;
}

const location = () => screen.getByTestId("location").textContent;
// The first answers of several queries on a busy machine: more than findBy's default second.
const slow = { timeout: 10_000 };

// MUI in jsdom on a busy machine: a few seconds per test.
describe("WorkloadsPage", { timeout: 30_000 }, () => {
  it("shows the queues, switch latency, what runs where and the page the URL asks for", async () => {
    handler = (_m, url) => common(url) ?? { body: { items: [workload("w1"), running], total: 42 } };
    renderAt("/app/workloads?customer=t1&sort=-priority&page=2");
    expect(screen.getByRole("heading", { level: 1, name: "Workloads" })).toBeInTheDocument();
    const inference = await screen.findByRole("region", { name: "Inference queue" }, slow);
    expect(within(inference).getByText("2 waiting")).toBeInTheDocument();
    expect(within(inference).getByText(/oldest 2 min, median 1 min; 2 past the 5 s start SLO; 0 placed/)).toBeInTheDocument();
    expect(within(screen.getByRole("region", { name: "Batch queue" })).getByText("0 waiting")).toBeInTheDocument();
    const latency = screen.getByRole("region", { name: "Switch latency" });
    await waitFor(() => expect(within(latency).getByText("p50 412.3 ms")).toBeInTheDocument(), slow);
    expect(within(latency).getByText(/p95 470\.1 ms, p99 478\.9 ms over 40 switches/)).toBeInTheDocument();

    const placed = screen.getByRole("table", { name: "Placed workloads" });
    const placedRow = await within(placed).findByRole("row", { name: /chat-serve/ }, slow);
    expect(within(placedRow).getByText("Globex")).toBeInTheDocument();
    expect(within(placedRow).getByRole("link", { name: "gpu-3" })).toHaveAttribute("href", "/app/resources/gpu-3");

    const table = screen.getByRole("table", { name: "Workloads" });
    const row = await within(table).findByRole("row", { name: /job-w1/ }, slow);
    expect(within(row).getByText("Acme Corp")).toBeInTheDocument();
    expect(within(row).getByText("Queued")).toBeInTheDocument();
    expect(screen.getByTestId("workloads-total")).toHaveTextContent("42 workloads match");
    expect(requests).toContain("GET /api/v1/workloads?tenant_id=t1&sort=-priority&limit=25&offset=25");
    expect(within(table).getByRole("columnheader", { name: "Priority" })).toHaveAttribute("aria-sort", "descending");
  });

  it("keeps filters and order in the URL and asks the API for them", async () => {
    handler = (_m, url) => common(url) ?? { body: { items: [workload("w1")], total: 1 } };
    renderAt("/app/workloads?page=3");
    await screen.findByRole("row", { name: /job-w1/ }, slow);
    fireEvent.mouseDown(screen.getByRole("combobox", { name: "Type" }));
    fireEvent.click(await screen.findByRole("option", { name: "Batch" }, slow));
    await waitFor(() => expect(location()).toBe("/app/workloads?type=batch"), slow);
    await waitFor(() => expect(requests).toContain("GET /api/v1/workloads?type=batch&limit=25&offset=0"), slow);
    fireEvent.click(screen.getByRole("button", { name: "GPUs" }));
    await waitFor(() => expect(location()).toBe("/app/workloads?type=batch&sort=gpu_count"), slow);
    fireEvent.change(screen.getByRole("searchbox", { name: "Search" }), { target: { value: "llama" } });
    await waitFor(() => expect(location()).toBe("/app/workloads?type=batch&q=llama&sort=gpu_count"), slow);
    await waitFor(() => expect(requests).toContain("GET /api/v1/workloads?type=batch&q=llama&sort=gpu_count&limit=25&offset=0"), slow);
  });

  it("opens a workload with its timeline and switches, and cancels it behind a confirmation", async () => {
    let cancelled = false;
    const detail = () => ({
      ...running, status: cancelled ? "cancelled" : "running", units: cancelled ? [] : running.units,
      history: [
        { from: null, to: "submitted", at: "2026-01-01T10:00:00Z", reason: null },
        { from: "submitted", to: "queued", at: "2026-01-01T10:00:00Z", reason: "admitted" },
        { from: "queued", to: "scheduled", at: "2026-01-01T10:04:00Z", reason: null },
        { from: "scheduled", to: "switching", at: "2026-01-01T10:04:30Z", reason: null },
        { from: "switching", to: "running", at: "2026-01-01T10:05:00Z", reason: null },
        ...(cancelled ? [{ from: "running", to: "cancelled", at: "2026-01-01T10:30:00Z", reason: "cancelled by user" }] : []),
      ],
    });
    handler = (method, url) => {
      const known = common(url);
      if (known) return known;
      if (url.pathname === "/api/v1/workloads/w2/cancel" && method === "POST") {
        cancelled = true;
        return { body: { ...running, status: "cancelled", units: [] } };
      }
      if (url.pathname === "/api/v1/workloads/w2") return { body: detail() };
      if (url.pathname === "/api/v1/orchestrator/switches") {
        return { body: { items: [{ id: "s1", unit_id: "gpu-3", workload_id: "w2", from: null, to: "w2",
          phases: { save_state_ms: 50, clear_memory_ms: 80, load_ms: 120, initialize_ms: 150 }, latency_ms: 400,
          at: "2026-01-01T10:04:40Z" }], total: 1 } };
      }
      return { body: { items: [running], total: 1 } };
    };
    renderAt("/app/workloads");
    fireEvent.click(await within(screen.getByRole("table", { name: "Workloads" })).findByRole("link", { name: "chat-serve" }, slow));
    await waitFor(() => expect(location()).toBe("/app/workloads?id=w2"), slow);
    const dialog = await screen.findByRole("dialog", { name: "Workload chat-serve" }, slow);
    const timeline = await within(dialog).findByRole("list", { name: "State timeline" }, slow);
    expect(within(timeline).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      expect.stringContaining("Submitted"), expect.stringContaining("Queued (from submitted): admitted"),
      expect.stringContaining("Scheduled"), expect.stringContaining("Switching"), expect.stringContaining("Running"),
    ]);
    const switches = await within(dialog).findByRole("table", { name: "Switches" }, slow);
    expect(within(switches).getByText("save state 50.0 ms, clear memory 80.0 ms, load 120.0 ms, initialize 150.0 ms"))
      .toBeInTheDocument();
    expect(requests).toContain("GET /api/v1/orchestrator/switches?workload_id=w2&limit=100");
    expect(within(dialog).getByText("tx-north: gpu-3, gpu-4")).toBeInTheDocument();

    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel workload" }));
    const confirm = await screen.findByRole("dialog", { name: "Cancel chat-serve?" }, slow);
    expect(confirm).toHaveTextContent("It stops now and gives back its 2 GPUs");
    expect(requests.some((r) => r.startsWith("POST"))).toBe(false);
    fireEvent.click(within(confirm).getByRole("button", { name: "Cancel workload" }));
    await waitFor(() => expect(requests).toContain("POST /api/v1/workloads/w2/cancel"), slow);
    const after = await screen.findByRole("dialog", { name: "Workload chat-serve" }, slow);
    await within(after).findByText(/\(from running\): cancelled by user/, undefined, slow);
    expect(within(after).queryByRole("button", { name: "Cancel workload" })).toBeNull();
  });

  it("shows the API's refusal of a cancel inside the confirmation", async () => {
    handler = (method, url) => {
      const known = common(url);
      if (known) return known;
      if (method === "POST") {
        return { status: 409, body: { error: { code: "illegal_transition", message: "workload is completed", details: null } } };
      }
      if (url.pathname === "/api/v1/workloads/w1") return { body: { ...workload("w1"), history: [] } };
      if (url.pathname === "/api/v1/orchestrator/switches") return { body: { items: [], total: 0 } };
      return { body: { items: [workload("w1")], total: 1 } };
    };
    renderAt("/app/workloads?id=w1");
    const dialog = await screen.findByRole("dialog", { name: "Workload job-w1" }, slow);
    expect(await within(dialog).findByText("No GPU has switched for this workload yet.", undefined, slow)).toBeInTheDocument();
    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel workload" }));
    const confirm = await screen.findByRole("dialog", { name: "Cancel job-w1?" }, slow);
    expect(confirm).toHaveTextContent("It leaves the queue and will not run.");
    fireEvent.click(within(confirm).getByRole("button", { name: "Cancel workload" }));
    expect(await within(confirm).findByText(/workload is completed/, undefined, slow)).toBeInTheDocument();
  });
});
