import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { json, renderWithProviders, signedInAs } from "../../shell/testing";
import CustomersPage from "./CustomersPage";

const budget = (limit: string | null) => ({
  tenant_id: "t-acme", month: "2026-12", monthly_limit_usd: limit, spent_usd: "1200.00", metered_usd: "1000.00",
  running_usd: "200.00", remaining_usd: null, used_pct: limit ? String((1200 / Number(limit)) * 100) : null,
  thresholds_pct: [50, 80, 100], updated_at: null,
});
let limit: string | null;
let puts: unknown[];

beforeEach(() => {
  limit = "5000.00";
  puts = [];
  signedInAs("admin");
  vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    if (url.pathname === "/api/v1/auth/tenants") return json(200, { items: [{ id: "t-acme", slug: "acme", name: "Acme Corp", created_at: "2026-01-01T00:00:00Z" }], total: 1 });
    if (url.pathname === "/api/v1/billing/budget" && request.method === "GET") {
      expect(url.searchParams.get("tenant_id")).toBe("t-acme"); // staff name the tenant
      return json(200, budget(limit));
    }
    if (url.pathname === "/api/v1/billing/budget" && request.method === "PUT") {
      const body = (await request.json()) as { monthly_limit_usd: string };
      puts.push(body);
      if (!/^\d+(\.\d{1,2})?$/.test(body.monthly_limit_usd)) {
        return json(422, { error: { code: "validation_error", message: "invalid", details: [{ field: "monthly_limit_usd", message: "Input should be a valid decimal" }] } });
      }
      limit = Number(body.monthly_limit_usd).toFixed(2);
      return json(200, budget(limit));
    }
    return json(404, { error: { code: "not_found", message: "no", details: null } });
  }));
});
afterEach(() => vi.unstubAllGlobals());

describe("CustomersPage", () => {
  it("shows each customer's spend against its budget and edits the budget, the API's 422 at the field", async () => {
    renderWithProviders(<CustomersPage />);
    const row = (await screen.findByRole("rowheader", { name: "Acme Corp" })).closest("tr")!;
    await waitFor(() => expect(row).toHaveTextContent("$1,200.00 of $5,000.00 (24 %)"));

    await userEvent.click(within(row).getByRole("button", { name: "Edit the budget of Acme Corp" }));
    const dialog = screen.getByRole("dialog", { name: "Budget of Acme Corp" });
    expect(dialog).toHaveTextContent("50 %, 80 %, 100 %");
    const field = within(dialog).getByLabelText(/^Monthly budget/);
    expect(field).toHaveValue("5000.00");
    await userEvent.clear(field);
    await userEvent.type(field, "lots");
    await userEvent.click(within(dialog).getByRole("button", { name: "Save budget" }));
    expect(await within(dialog).findByText("Input should be a valid decimal")).toBeInTheDocument();
    expect(field).toHaveAttribute("aria-invalid", "true");

    await userEvent.clear(field);
    await userEvent.type(field, "6000");
    await userEvent.click(within(dialog).getByRole("button", { name: "Save budget" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(puts).toEqual([{ tenant_id: "t-acme", monthly_limit_usd: "lots" }, { tenant_id: "t-acme", monthly_limit_usd: "6000" }]);
    await waitFor(() => expect(row).toHaveTextContent("$1,200.00 of $6,000.00 (20 %)"));
  });
});
