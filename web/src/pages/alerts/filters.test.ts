import { describe, expect, it } from "vitest";
import { filtersFromSearch, hasFilters, listParams, selectedId, withFilters, withSelected } from "./filters";

const sp = (s: string) => new URLSearchParams(s);

describe("alert filters in the URL", () => {
  it("reads known values and ignores the rest", () => {
    expect(filtersFromSearch(sp("status=acked&severity=critical&unit=asic-7&customer=t1&page=3&size=50"))).toEqual({
      status: "acked", severity: "critical", unit: "asic-7", customer: "t1", page: 3, size: 50,
    });
    expect(filtersFromSearch(sp("status=closed&severity=fatal&unit=%20&page=0&size=7"))).toEqual({
      status: undefined, severity: undefined, unit: undefined, customer: undefined, page: 1, size: 25,
    });
    expect(filtersFromSearch(sp("page=-2&size=abc")).page).toBe(1);
    expect(filtersFromSearch(sp(`unit=${"x".repeat(65)}`)).unit).toBeUndefined();
  });

  it("a filter change goes back to the first page and keeps the open alert", () => {
    const next = withFilters(sp("status=open&page=4&id=a1"), { severity: "warning" });
    expect(next.toString()).toBe("status=open&id=a1&severity=warning");
    expect(withFilters(sp("status=open&page=4"), { status: undefined }).toString()).toBe("");
  });

  it("setting a filter to what it is keeps the page", () => {
    expect(withFilters(sp("status=open&page=4"), { status: "open" }).get("page")).toBe("4");
  });

  it("pages and page sizes, defaults left out", () => {
    expect(withFilters(sp("status=open"), { page: 2 }).toString()).toBe("status=open&page=2");
    expect(withFilters(sp("page=2"), { page: 1 }).toString()).toBe("");
    expect(withFilters(sp("page=3"), { size: 100 }).toString()).toBe("size=100");
    expect(withFilters(sp("size=100&page=2"), { size: 25 }).toString()).toBe("");
    expect(withFilters(sp("size=50&page=2"), { size: 50 }).toString()).toBe("size=50&page=2");
  });

  it("asks the API for a unit's alerts by subject, a customer's by tenant, one page", () => {
    expect(listParams(filtersFromSearch(sp("unit=asic-7&customer=t1&page=3&size=50")))).toEqual({
      status: undefined, severity: undefined, subject_kind: "unit", subject_id: "asic-7", tenant_id: "t1",
      limit: 50, offset: 100,
    });
    expect(listParams(filtersFromSearch(sp("")))).toMatchObject({ subject_kind: undefined, limit: 25, offset: 0 });
  });

  it("knows whether anything is filtered, and which alert is open", () => {
    expect(hasFilters(filtersFromSearch(sp("page=2&size=50")))).toBe(false);
    expect(hasFilters(filtersFromSearch(sp("customer=t1")))).toBe(true);
    expect(selectedId(sp("id=a1"))).toBe("a1");
    expect(selectedId(sp("id="))).toBeUndefined();
    expect(withSelected(sp("status=open"), "a2").toString()).toBe("status=open&id=a2");
    expect(withSelected(sp("status=open&id=a2"), undefined).toString()).toBe("status=open");
  });
});
