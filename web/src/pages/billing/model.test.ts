import { describe, expect, it } from "vitest";
import {
  actionsFor, currentMonth, describeCustomers, describeMonths, invoiceFiltersOf, monthLabel, recentMonths, revenueMonthOf,
} from "./model";

describe("billing rules", () => {
  it("offers only the moves the invoice's state allows", () => {
    expect(actionsFor("draft")).toEqual(["issue", "void"]);
    expect(actionsFor("issued")).toEqual(["correct", "void"]);
    expect(actionsFor("paid")).toEqual([]);
    expect(actionsFor("void")).toEqual([]);
  });

  it("reads the filters from the URL leniently", () => {
    expect(invoiceFiltersOf(new URLSearchParams("customer=t-acme&status=draft&period=2026-11"))).toEqual(
      { tenant_id: "t-acme", status: "draft", period: "2026-11" });
    expect(invoiceFiltersOf(new URLSearchParams("status=overdue&period=2026-13&customer=%20"))).toEqual(
      { tenant_id: undefined, status: undefined, period: undefined });
    expect(revenueMonthOf(new URLSearchParams("month=2026-10"))).toBe("2026-10");
    expect(revenueMonthOf(new URLSearchParams("month=10-2026"))).toBeUndefined();
  });

  it("counts months back across the year, newest first", () => {
    expect(recentMonths("2026-02", 4)).toEqual(["2026-02", "2026-01", "2025-12", "2025-11"]);
    expect(currentMonth(new Date(Date.UTC(2026, 11, 31, 23, 30)))).toBe("2026-12");
    expect(monthLabel("2026-11")).toBe("Nov 2026");
  });

  it("says the charts in words", () => {
    expect(describeMonths([
      { month: "2026-10", ai_usd: "100.00", mining_usd: "2000.50", revenue_usd: "2100.50", energy_cost_usd: "1.00", margin_usd: "2099.50" },
      { month: "2026-11", ai_usd: "0.00", mining_usd: "0.00", revenue_usd: "0.00", energy_cost_usd: "0.00", margin_usd: "0.00" },
    ])).toBe("Oct 2026: $2,100.50 (AI $100.00, mining $2,000.50); Nov 2026: $0.00 (AI $0.00, mining $0.00).");
    expect(describeMonths([])).toBe("No revenue recorded.");
    expect(describeCustomers([{ tenant_id: "t1", name: "Acme Corp", revenue_usd: "1234.5", gpu_hours: "10" }], "2026-11"))
      .toBe("AI revenue in Nov 2026: Acme Corp $1,234.50.");
    expect(describeCustomers([], "2026-11")).toBe("No customer used GPUs in Nov 2026.");
  });
});
