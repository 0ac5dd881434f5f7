// The live cache (cache.ts) keeps the Alerts page's filtered lists right: a raised alert goes into
// the lists whose unit (subject) and customer (tenant) filters it passes, and no other.
import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { applyEvent, queryKeys } from "../../live/cache";
import type { AlertList, AlertView } from "../../live/types";
import { filtersFromSearch, listParams } from "./filters";

const alert = (id: string, over: Partial<AlertView> = {}): AlertView => ({
  id, cause: `temperature:${id}`, rule: "temperature", severity: "warning", status: "open", subject_kind: "unit",
  subject_id: "asic-1", tenant_id: null, message: id, details: {}, raised_at: "2026-01-01T10:00:00Z",
  updated_at: "2026-01-01T10:00:00Z", acked_at: null, acked_by: null, resolved_at: null, resolved_by: null, ...over,
});

const key = (search: string) => queryKeys.alerts(listParams(filtersFromSearch(new URLSearchParams(search))));

describe("live alerts on filtered lists", () => {
  it("a raised alert joins only the lists it belongs to", () => {
    const client = new QueryClient();
    const empty: AlertList = { items: [], total: 0 };
    for (const s of ["unit=asic-1", "unit=asic-2", "customer=t1", "customer=t1&unit=asic-1", ""]) client.setQueryData(key(s), empty);
    applyEvent(client, { id: "e1", channel: "alerts", event: "alert.raised", ts: "2026-01-01T10:00:00Z", data: alert("a") });
    applyEvent(client, {
      id: "e2", channel: "alerts", event: "alert.raised", ts: "2026-01-01T10:00:00Z",
      data: alert("b", { subject_kind: "tenant", subject_id: "t1", tenant_id: "t1", rule: "budget" }),
    });
    const ids = (s: string) => client.getQueryData<AlertList>(key(s))!.items.map((a) => a.id);
    expect(ids("unit=asic-1")).toEqual(["a"]);
    expect(ids("unit=asic-2")).toEqual([]);
    expect(ids("customer=t1")).toEqual(["b"]);
    expect(ids("customer=t1&unit=asic-1")).toEqual([]);
    expect(ids("")).toEqual(["b", "a"]);
  });
});
