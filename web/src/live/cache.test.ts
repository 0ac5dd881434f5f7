import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { applyEvent, applyReset, extendHistory, liveQueryDefaults, queryKeys, shareRows, workloadOf } from "./cache";
import type {
  AlertList,
  AlertView,
  ChannelEvent,
  FleetHistory,
  FleetMetricsSnapshot,
  UnitList,
  Workload,
  WorkloadChange,
  WorkloadList,
} from "./types";

function workload(id: string, over: Partial<Workload> = {}): Workload {
  return {
    id, name: `job-${id}`, tenant_id: "t1", type: "ai_training", priority: 5, gpu_model: "any", gpu_count: 8,
    duration_s: 3600, max_price_usd_per_gpu_hour: null, preemptible: true, status: "running", units: ["g1", "g2"],
    facility_id: "f1", submitted_at: "2026-01-01T00:00:00Z", queued_at: "2026-01-01T00:00:01Z",
    started_at: "2026-01-01T00:00:02Z", finished_at: null, failure_reason: null, preemptions: 0, created_by: null,
    wait_reason: null, ...over,
  };
}

function change(w: Workload, previous: WorkloadChange["previous_status"]): ChannelEvent {
  return {
    id: `ev-${Math.random()}`, channel: "workloads", event: "workload.state", ts: "2026-01-01T00:10:00Z",
    data: { ...w, wait_reason: w.wait_reason ?? null, previous_status: previous, placed_gpu_model: "H100" },
  };
}

// as the console's QueryClient is set up (App.tsx): rows shared by id, not by position
const newClient = () => new QueryClient({ defaultOptions: { queries: { ...liveQueryDefaults } } });

function list(...items: Workload[]): WorkloadList {
  return { items, total: items.length };
}

function idle(client: QueryClient, key: readonly unknown[]) {
  return client.getQueryState(key)?.isInvalidated ?? false;
}

describe("workload.state", () => {
  it("patches the matching row everywhere and leaves the others identical", () => {
    const client = newClient();
    const a = workload("a"), b = workload("b"), c = workload("c");
    const all = list(a, b, c);
    const running = list(a, b);
    client.setQueryData(queryKeys.workloads(), all);
    client.setQueryData(queryKeys.workloads({ status: "running" }), running);
    client.setQueryData(queryKeys.workload("b"), { ...b, history: [] });

    applyEvent(client, change({ ...b, status: "completed", finished_at: "2026-01-01T01:00:00Z" }, "running"));

    const after = client.getQueryData<WorkloadList>(queryKeys.workloads())!;
    expect(after).not.toBe(all);
    expect(after.items[0]).toBe(a);
    expect(after.items[2]).toBe(c);
    expect(after.items[1]).toMatchObject({ id: "b", status: "completed", finished_at: "2026-01-01T01:00:00Z" });
    expect(after.items[1]!.units).toBe(b.units); // unchanged nested values keep their identity too
    expect(after.items[1]).not.toHaveProperty("previous_status");
    expect(after.items[1]).not.toHaveProperty("placed_gpu_model");
    expect(idle(client, queryKeys.workloads())).toBe(false);
    // the running list: patched, and refetched since b left it
    const filtered = client.getQueryData<WorkloadList>(queryKeys.workloads({ status: "running" }))!;
    expect(filtered.items[0]).toBe(a);
    expect(filtered.items[1]!.status).toBe("completed");
    expect(idle(client, queryKeys.workloads({ status: "running" }))).toBe(true);
    // the detail keeps its history and refetches it
    expect(client.getQueryData(queryKeys.workload("b"))).toMatchObject({ status: "completed", history: [] });
    expect(idle(client, queryKeys.workload("b"))).toBe(true);
  });

  it("an event that changes nothing keeps the list itself", () => {
    const client = newClient();
    const a = workload("a");
    const all = list(a, workload("b"));
    client.setQueryData(queryKeys.workloads(), all);
    applyEvent(client, change(structuredClone(a), "running"));
    expect(client.getQueryData(queryKeys.workloads())).toBe(all);
  });

  it("a new workload appears at the top of the unfiltered first page", () => {
    const client = newClient();
    const a = workload("a"), b = workload("b");
    client.setQueryData(queryKeys.workloads({ limit: 2 }), { items: [a, b], total: 5 });
    client.setQueryData(queryKeys.workloads({ limit: 2, offset: 2 }), { items: [workload("c"), workload("d")], total: 5 });
    client.setQueryData(queryKeys.workloads({ status: "queued" }), list());
    const fresh = workload("n", { status: "submitted", submitted_at: "2026-01-01T02:00:00Z", units: [] });

    applyEvent(client, change(fresh, null));

    const first = client.getQueryData<WorkloadList>(queryKeys.workloads({ limit: 2 }))!;
    expect(first.items.map((w) => w.id)).toEqual(["n", "a"]); // the page keeps its size
    expect(first.items[0]).toEqual(workloadOf({ ...fresh, wait_reason: null, previous_status: null, placed_gpu_model: null }));
    expect(first.items[1]).toBe(a);
    expect(first.total).toBe(6);
    expect(idle(client, queryKeys.workloads({ limit: 2 }))).toBe(false);
    // the second page shifted: refetch; the queued list does not hold submitted ones: untouched
    expect(idle(client, queryKeys.workloads({ limit: 2, offset: 2 }))).toBe(true);
    expect(idle(client, queryKeys.workloads({ status: "queued" }))).toBe(false);
    expect(client.getQueryData<WorkloadList>(queryKeys.workloads({ status: "queued" }))!.items).toEqual([]);
  });

  it("a replayed creation is not inserted twice", () => {
    const client = newClient();
    client.setQueryData(queryKeys.workloads(), list(workload("a")));
    const fresh = workload("n", { status: "submitted" });
    applyEvent(client, change(fresh, null));
    const once = client.getQueryData<WorkloadList>(queryKeys.workloads())!;
    applyEvent(client, change(fresh, null));
    expect(client.getQueryData(queryKeys.workloads())).toBe(once);
    expect(once.total).toBe(2);
  });

  it("a filtered list the workload may now belong to refetches", () => {
    const client = newClient();
    client.setQueryData(queryKeys.workloads({ status: "running" }), list(workload("a")));
    client.setQueryData(queryKeys.workloads({ status: "failed" }), list());
    applyEvent(client, change(workload("q", { status: "running" }), "switching"));
    expect(idle(client, queryKeys.workloads({ status: "running" }))).toBe(true);
    expect(idle(client, queryKeys.workloads({ status: "failed" }))).toBe(false);
  });

  it("a count query the workload left (not on its page) refetches", () => {
    const client = newClient();
    client.setQueryData(queryKeys.workloads({ status: "running", limit: 1 }), { items: [workload("a")], total: 4 });
    client.setQueryData(queryKeys.workloads({ status: "queued", limit: 1 }), { items: [], total: 0 });
    applyEvent(client, change(workload("z", { status: "completed" }), "running"));
    expect(idle(client, queryKeys.workloads({ status: "running", limit: 1 }))).toBe(true);
    expect(idle(client, queryKeys.workloads({ status: "queued", limit: 1 }))).toBe(false);
  });
});

describe("fleet.metrics", () => {
  const snapshot = (ts: string, hashrate = 100): FleetMetricsSnapshot => ({
    ts, hashrate_ths: hashrate, power_w: { mining: 1e6, ai: 5e5, idle: 1e4, total: 1.51e6 },
    power_w_by_facility: { f1: 1.51e6 }, gpus_busy: 10, gpus_total: 16, asics_mining: 200, gpu_utilization: 0.6,
    profit_usd_per_hour: 1234.5, queue_depth: { default: 3 },
  });
  const event = (s: FleetMetricsSnapshot): ChannelEvent => ({
    id: `m-${s.ts}`, channel: "metrics", event: "fleet.metrics", ts: s.ts, data: s,
  });
  const point = (ts: string) => ({
    ts, hashrate_ths: 90, power_w: { total: 1e6 }, power_w_by_facility: {}, gpu_utilization: null, gpus_busy: null, gpus_total: null,
  });

  it("sets the latest snapshot and extends the history, dropping what left the window", () => {
    const client = newClient();
    const p0 = point("2026-01-01T00:00:00Z"), p1 = point("2026-01-01T00:30:00Z"), p2 = point("2026-01-01T00:59:00Z");
    const history: FleetHistory = { window_s: 3600, step_s: 60, source: "rollup", points: [p0, p1, p2] };
    client.setQueryData(queryKeys.fleetHistory(3600), history);

    applyEvent(client, event(snapshot("2026-01-01T01:10:00Z", 123)));

    expect(client.getQueryData(queryKeys.fleetMetrics)).toMatchObject({ hashrate_ths: 123 });
    const after = client.getQueryData<FleetHistory>(queryKeys.fleetHistory(3600))!;
    expect(after.points.map((p) => p.ts)).toEqual(
      ["2026-01-01T00:30:00Z", "2026-01-01T00:59:00Z", "2026-01-01T01:10:00Z"]);
    expect(after.points[0]).toBe(p1);
    expect(after.points[1]).toBe(p2);
    expect(after.points[2]).toEqual({
      ts: "2026-01-01T01:10:00Z", hashrate_ths: 123, power_w: snapshot("x").power_w,
      power_w_by_facility: { f1: 1.51e6 }, gpu_utilization: 0.6, gpus_busy: 10, gpus_total: 16,
    });
  });

  it("ignores a replayed or late snapshot", () => {
    const history: FleetHistory = { window_s: 3600, step_s: 60, source: "rollup", points: [point("2026-01-01T00:59:00Z")] };
    expect(extendHistory(history, snapshot("2026-01-01T00:59:00Z"))).toBe(history);
    expect(extendHistory(history, snapshot("2026-01-01T00:58:00Z"))).toBe(history);
  });

  it("an equal snapshot keeps the cached one", () => {
    const client = newClient();
    applyEvent(client, event(snapshot("2026-01-01T00:00:00Z")));
    const first = client.getQueryData(queryKeys.fleetMetrics);
    applyEvent(client, event(snapshot("2026-01-01T00:00:00Z")));
    expect(client.getQueryData(queryKeys.fleetMetrics)).toBe(first);
  });
});

describe("unit.state", () => {
  it("patches the unit in cached unit lists", () => {
    const client = newClient();
    const u1 = { id: "u1", kind: "gpu", status: "online", health: "ok", mode: "workload", reading: { temp_c: 60 } };
    const u2 = { id: "u2", kind: "gpu", status: "online", health: "ok", mode: "idle", reading: { temp_c: 40 } };
    const units = { items: [u1, u2], total: 2 } as unknown as UnitList;
    client.setQueryData(queryKeys.units({ kind: "gpu" }), units);
    client.setQueryData(queryKeys.units({ health: "ok" }), units);
    applyEvent(client, {
      id: "e", channel: "resources", event: "unit.state", ts: "2026-01-01T00:00:00Z",
      data: { ...u2, health: "critical", previous: { health: "ok" } } as never,
    });
    const byKind = client.getQueryData<UnitList>(queryKeys.units({ kind: "gpu" }))!;
    expect(byKind.items[0]).toBe(u1);
    expect(byKind.items[1]).toMatchObject({ id: "u2", health: "critical" });
    expect(byKind.items[1]!.reading).toBe(u2.reading);
    expect(byKind.items[1]).not.toHaveProperty("previous");
    expect(idle(client, queryKeys.units({ kind: "gpu" }))).toBe(false);
    expect(idle(client, queryKeys.units({ health: "ok" }))).toBe(true); // it left the filter
  });
});

describe("alerts", () => {
  const alert = (id: string, over: Partial<AlertView> = {}): AlertView => ({
    id, cause: "temp", rule: "unit_health", severity: "warning", status: "open", subject_kind: "unit",
    subject_id: "u1", tenant_id: null, message: `alert ${id}`, details: {}, raised_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z", acked_at: null, acked_by: null, resolved_at: null, resolved_by: null, ...over,
  });
  const ev = (event: "alert.raised" | "alert.acked" | "alert.resolved", data: AlertView): ChannelEvent => ({
    id: `e-${event}-${data.id}`, channel: "alerts", event, ts: data.updated_at, data,
  });

  it("inserts raised alerts into matching first pages and patches acked ones", () => {
    const client = newClient();
    const x = alert("x");
    const open: AlertList = { items: [x], total: 1 };
    client.setQueryData(queryKeys.alerts({ status: "open" }), open);
    client.setQueryData(queryKeys.alerts({ severity: "critical" }), { items: [], total: 0 });

    applyEvent(client, ev("alert.raised", alert("y")));
    const after = client.getQueryData<AlertList>(queryKeys.alerts({ status: "open" }))!;
    expect(after.items.map((a) => a.id)).toEqual(["y", "x"]);
    expect(after.items[1]).toBe(x);
    expect(client.getQueryData<AlertList>(queryKeys.alerts({ severity: "critical" }))!.items).toEqual([]);

    applyEvent(client, ev("alert.acked", alert("x", { status: "acked", acked_by: "ops" })));
    const acked = client.getQueryData<AlertList>(queryKeys.alerts({ status: "open" }))!;
    expect(acked.items[0]).toBe(after.items[0]);
    expect(acked.items[1]).toMatchObject({ status: "acked", acked_by: "ops" });
    expect(idle(client, queryKeys.alerts({ status: "open" }))).toBe(true);
  });
});

describe("billing and reset", () => {
  it("billing events invalidate billing queries only", () => {
    const client = newClient();
    client.setQueryData(queryKeys.billingBudget(), { spent_usd: "1" });
    client.setQueryData(queryKeys.billingUsage(), { total_cost_usd: "1" });
    client.setQueryData(queryKeys.workloads(), list());
    applyEvent(client, {
      id: "b", channel: "billing", event: "billing.usage", ts: "2026-01-01T00:00:00Z", data: {} as never,
    });
    expect(idle(client, queryKeys.billingBudget())).toBe(true);
    expect(idle(client, queryKeys.billingUsage())).toBe(true);
    expect(idle(client, queryKeys.workloads())).toBe(false);
  });

  it("a reset invalidates everything live events keep current", () => {
    const client = newClient();
    client.setQueryData(queryKeys.workloads(), list());
    client.setQueryData(queryKeys.alerts(), { items: [], total: 0 });
    client.setQueryData(queryKeys.fleetHistory(3600), { window_s: 3600, step_s: 60, points: [] });
    client.setQueryData(queryKeys.channels, { items: [], total: 0 });
    applyReset(client);
    expect(idle(client, queryKeys.workloads())).toBe(true);
    expect(idle(client, queryKeys.alerts())).toBe(true);
    expect(idle(client, queryKeys.fleetHistory(3600))).toBe(true);
    expect(idle(client, queryKeys.channels)).toBe(false);
  });

  it("query keys ignore empty params", () => {
    expect(queryKeys.workloads({ status: undefined, tenant_id: null })).toEqual(queryKeys.workloads());
  });
});

describe("shareRows", () => {
  it("keeps rows by id and points by time, whatever their position", () => {
    const a = { id: "a", n: 1 }, b = { id: "b", n: 2 };
    const prev = { items: [a, b], total: 2 };
    const next = shareRows(prev, { items: [{ id: "c", n: 3 }, { id: "a", n: 1 }, { id: "b", n: 5 }], total: 3 }) as typeof prev;
    expect(next.items[1]).toBe(a);
    expect(next.items[2]).toEqual({ id: "b", n: 5 });
    expect(shareRows(prev, structuredClone(prev))).toBe(prev);
    const p1 = { ts: "1", v: 1 }, p2 = { ts: "2", v: 2 };
    const h = { window_s: 60, points: [p1, p2] };
    const h2 = shareRows(h, { window_s: 60, points: [{ ts: "2", v: 2 }, { ts: "3", v: 3 }] }) as typeof h;
    expect(h2.points[0]).toBe(p2);
  });
});
