import { describe, expect, it } from "vitest";
import {
  apiQuery, exportQuery, formatMs, formatWait, listStateToParams, nextSort, parseListState, withFilter,
} from "./filters";

describe("workloads URL state", () => {
  it("reads filters, sort, page and the open workload, and writes them back the same", () => {
    const url = "status=queued&customer=t1&type=batch&gpu_model=H100&q=llama&sort=-priority&page=3&size=50&id=w9";
    const state = parseListState(new URLSearchParams(url));
    expect(state).toEqual({
      filters: { status: "queued", customer: "t1", type: "batch", gpu_model: "H100", q: "llama" },
      sort: { field: "priority", direction: "desc" }, page: 2, pageSize: 50, open: "w9",
    });
    expect(listStateToParams(state).toString()).toBe(url);
  });

  it("drops what it does not understand and takes the defaults", () => {
    const state = parseListState(new URLSearchParams("status=sleeping&type=mining&sort=colour&page=-2&size=7&q=%20%20"));
    expect(state).toEqual({ filters: {}, sort: null, page: 0, pageSize: 25 });
    expect(listStateToParams(state).toString()).toBe("");
  });

  it("asks the API with its names (customer is tenant_id) and pages by offset; the export has no paging", () => {
    const state = parseListState(new URLSearchParams("customer=t2&status=running&sort=submitted_at&page=2"));
    expect(apiQuery(state)).toEqual({ tenant_id: "t2", status: "running", sort: "submitted_at", limit: 25, offset: 25 });
    expect(exportQuery(state)).toEqual({ tenant_id: "t2", status: "running", sort: "submitted_at" });
  });

  it("goes back to the first page when a filter or the order changes, and cycles a column's order", () => {
    const state = parseListState(new URLSearchParams("page=4"));
    expect(withFilter(state, "customer", "t1")).toMatchObject({ filters: { customer: "t1" }, page: 0 });
    expect(withFilter({ ...state, filters: { customer: "t1" } }, "customer", "")).toMatchObject({ filters: {} });
    const asc = nextSort(state, "gpu_count");
    expect(asc).toMatchObject({ sort: { field: "gpu_count", direction: "asc" }, page: 0 });
    const desc = nextSort(asc, "gpu_count");
    expect(desc.sort).toEqual({ field: "gpu_count", direction: "desc" });
    expect(nextSort(desc, "gpu_count").sort).toBeNull();
  });

  it("formats waits and latencies for people", () => {
    expect(formatWait(null)).toBe("—");
    expect(formatWait(4.6)).toBe("5 s");
    expect(formatWait(600)).toBe("10 min");
    expect(formatWait(3 * 3600 + 5 * 60)).toBe("3 h 05 min");
    expect(formatWait(2 * 86400 + 4 * 3600)).toBe("2 d 4 h");
    expect(formatMs(412.34)).toBe("412.3 ms");
    expect(formatMs(undefined)).toBe("—");
  });
});
