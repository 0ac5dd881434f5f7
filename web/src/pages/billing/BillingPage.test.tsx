import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useLocation } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { json, renderWithProviders, signedInAs } from "../../shell/testing";
import BillingPage from "./BillingPage";

vi.mock("./RevenueCharts", () => ({
  MonthsChart: ({ months }: { months: unknown[] }) => <div data-testid="months-chart">{months.length}</div>,
  CustomersChart: ({ customers }: { customers: unknown[] }) => <div data-testid="customers-chart">{customers.length}</div>,
}));

const MONEY = { subtotal_usd: "100.00", tax_rate: "0.0825", tax_usd: "8.25", total_usd: "108.25", currency: "USD" };
function invoice(id: string, number: string, status: string, tenant = "t-acme") {
  return {
    id, number, tenant_id: tenant, period: "2026-11", kind: "on_demand", status, ...MONEY, corrects_id: null,
    created_at: "2026-12-01T00:00:00Z", issued_at: status === "draft" ? null : "2026-12-01T00:00:00Z",
    paid_at: status === "paid" ? "2026-12-02T00:00:00Z" : null, voided_at: null,
  };
}
const DRAFT = invoice("i1", "INV-202611-AAAA", "draft");
const ISSUED = invoice("i2", "INV-202611-BBBB", "issued", "t-globex");
const PAID = invoice("i3", "INV-202611-CCCC", "paid");
const REVENUE = {
  month: "2026-12", currency: "USD", revenue_usd: "52000.00", by_source: { ai_usd: "12000.00", mining_usd: "40000.00" },
  by_customer: [{ tenant_id: "t-acme", name: "Acme Corp", revenue_usd: "12000.00", gpu_hours: "4000.00" }],
  by_month: [
    { month: "2026-11", ai_usd: "10000.00", mining_usd: "39000.00", revenue_usd: "49000.00", energy_cost_usd: "20000.00", margin_usd: "29000.00" },
    { month: "2026-12", ai_usd: "12000.00", mining_usd: "40000.00", revenue_usd: "52000.00", energy_cost_usd: "21000.00", margin_usd: "31000.00" },
  ],
  mining: { btc: "0.61", usd: "40000.00", avg_btc_usd: "65000.00", facilities: [] },
  energy_cost_usd: "21000.00", energy_by_source: { ai_usd: "1000.00", mining_usd: "20000.00" },
  margin_usd: "31000.00", margin_pct: "59.6",
};
const RATES = {
  currency: "USD", unit: "gpu_hour", tax_rate: "0.0825",
  rates: [{ gpu_model: "H100", rate_usd_per_gpu_hour: "2.50" }, { gpu_model: "A100", rate_usd_per_gpu_hour: "1.60" }],
  priority_multipliers: [{ priority: 10, multiplier: "1.5" }],
};

let requests: { method: string; url: URL }[];
let invoices: ReturnType<typeof invoice>[];
let issueAnswer: () => Response;

beforeEach(() => {
  requests = [];
  invoices = [DRAFT, ISSUED, PAID];
  issueAnswer = () => json(200, { ...DRAFT, status: "issued", issued_at: "2026-12-07T10:00:00Z", lines: [] });
  signedInAs("admin");
  vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    requests.push({ method: request.method, url });
    const p = url.pathname;
    if (p === "/api/v1/auth/tenants") {
      return json(200, { items: [
        { id: "t-acme", slug: "acme", name: "Acme Corp", created_at: "2026-01-01T00:00:00Z" },
        { id: "t-globex", slug: "globex", name: "Globex Research", created_at: "2026-01-01T00:00:00Z" },
      ], total: 2 });
    }
    if (p === "/api/v1/billing/revenue") return json(200, REVENUE);
    if (p === "/api/v1/billing/rates") return json(200, RATES);
    if (p === "/api/v1/billing/invoices") return json(200, { items: invoices, total: invoices.length });
    if (p === "/api/v1/billing/invoices/i1/issue") return issueAnswer();
    if (p === "/api/v1/billing/invoices/i1") {
      return json(200, { ...DRAFT, lines: [{ description: "llm: H100 GPU time, priority 7", workload_id: "w1", gpu_model: "H100",
        quantity_hours: "40.000000", rate_usd: "2.500", amount_usd: "100.00" }] });
    }
    if (p === "/api/v1/billing/invoices/export.csv") {
      return new Response("id,number\r\ni1,INV\r\n", { status: 200, headers: { "content-type": "text/csv", "content-disposition": 'attachment; filename="hcp-invoices-20261207T100000Z.csv"' } });
    }
    return json(404, { error: { code: "not_found", message: "no", details: null } });
  }));
});
afterEach(() => vi.unstubAllGlobals());

function Where() {
  return <output data-testid="where">{useLocation().search}</output>;
}

const renderPage = (path = "/app/billing") =>
  renderWithProviders(<Routes><Route path="/app/billing" element={<><BillingPage /><Where /></>} /></Routes>, { path });

const rowOf = async (number: string) =>
  (await screen.findByRole("rowheader", { name: number })).closest("tr")!;

// A whole page with its dialogs: slow on a loaded machine, never waiting on a clock.
describe("BillingPage", { timeout: 30_000 }, () => {
  it("shows the month's revenue, the charts with their text alternatives, and the rate card", async () => {
    renderPage();
    expect(screen.getByRole("heading", { level: 1, name: "Billing" })).toBeInTheDocument();
    expect(await screen.findByRole("region", { name: "Revenue" })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("region", { name: "AI revenue" })).toHaveTextContent("$12,000.00"));
    expect(screen.getByRole("region", { name: "Mining revenue" })).toHaveTextContent("$40,000.00");
    expect(screen.getByRole("region", { name: "Margin" })).toHaveTextContent("$31,000.00");
    const months = screen.getByRole("figure", { name: "Revenue by month" });
    expect(months).toHaveTextContent("Nov 2026: $49,000.00 (AI $10,000.00, mining $39,000.00); Dec 2026: $52,000.00");
    expect(await within(months).findByTestId("months-chart")).toHaveTextContent("2");
    expect(screen.getByRole("figure", { name: "AI revenue by customer" })).toHaveTextContent("Acme Corp $12,000.00");
    const rates = await screen.findByRole("table", { name: "Rates per GPU-hour" });
    expect(within(rates).getByRole("row", { name: /H100/ })).toHaveTextContent("$2.500");
    expect(screen.getByText(/Tax 8.25 %/)).toBeInTheDocument();
    expect(requests.some((r) => r.url.pathname === "/api/v1/billing/revenue" && r.url.searchParams.get("months") === "6")).toBe(true);
  });

  it("lists every customer's invoices with only the moves each state allows", async () => {
    renderPage();
    const draft = await rowOf(DRAFT.number);
    expect(draft).toHaveTextContent("Acme Corp");
    expect(draft).toHaveTextContent("Draft");
    expect(draft).toHaveTextContent("$108.25");
    expect(within(draft).getAllByRole("button").map((b) => b.getAttribute("aria-label") ?? b.textContent))
      .toEqual([DRAFT.number, `Issue ${DRAFT.number}`, `Void ${DRAFT.number}`]);
    const issued = await rowOf(ISSUED.number);
    expect(issued).toHaveTextContent("Globex Research");
    expect(within(issued).getByRole("button", { name: `Correct ${ISSUED.number}` })).toBeInTheDocument();
    expect(within(issued).queryByRole("button", { name: `Issue ${ISSUED.number}` })).toBeNull();
    expect(within(await rowOf(PAID.number)).getAllByRole("button")).toHaveLength(1); // its number only
  });

  it("puts the filters in the URL, asks the API with them, and exports with the same", async () => {
    renderPage("/app/billing?page=2");
    await rowOf(DRAFT.number);
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Status" }), "draft");
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Customer" }), "Acme Corp");
    const period = screen.getByRole("combobox", { name: "Period" });
    const firstMonth = within(period).getAllByRole("option")[2]!.getAttribute("value")!;
    await userEvent.selectOptions(period, firstMonth);
    expect(Object.fromEntries(new URLSearchParams(screen.getByTestId("where").textContent ?? "")))
      .toEqual({ status: "draft", customer: "t-acme", period: firstMonth });
    await waitFor(() => expect(requests.some((r) => r.url.pathname === "/api/v1/billing/invoices"
      && r.url.searchParams.get("status") === "draft" && r.url.searchParams.get("tenant_id") === "t-acme"
      && r.url.searchParams.get("period") === firstMonth && r.url.searchParams.get("offset") === "0")).toBe(true));

    const createObjectURL = vi.fn(() => "blob:x");
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() }));
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => undefined);
    await userEvent.click(screen.getByRole("button", { name: "Export CSV" }));
    await waitFor(() => expect(click).toHaveBeenCalled());
    const exported = requests.find((r) => r.url.pathname === "/api/v1/billing/invoices/export.csv")!;
    expect(Object.fromEntries(exported.url.searchParams)).toEqual({ status: "draft", tenant_id: "t-acme", period: firstMonth });
    expect((click.mock.contexts[0] as HTMLAnchorElement).download).toBe("hcp-invoices-20261207T100000Z.csv");
  });

  it("issues a draft only once confirmed, and says so", async () => {
    renderPage();
    await userEvent.click(within(await rowOf(DRAFT.number)).getByRole("button", { name: `Issue ${DRAFT.number}` }));
    const dialog = screen.getByRole("dialog", { name: `Issue invoice ${DRAFT.number}?` });
    expect(dialog).toHaveTextContent("Acme Corp, Nov 2026, $108.25.");
    expect(dialog).toHaveTextContent("can no longer be edited");
    await userEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(requests.some((r) => r.method === "POST")).toBe(false);

    await userEvent.click(within(await rowOf(DRAFT.number)).getByRole("button", { name: `Issue ${DRAFT.number}` }));
    invoices = [{ ...DRAFT, status: "issued" }, ISSUED, PAID];
    await userEvent.click(within(screen.getByRole("dialog", { name: `Issue invoice ${DRAFT.number}?` }))
      .getByRole("button", { name: "Issue invoice" }));
    expect(await screen.findByText(`Invoice ${DRAFT.number} is now issued.`)).toHaveAttribute("role", "status");
    expect(requests.filter((r) => r.method === "POST").map((r) => r.url.pathname)).toEqual(["/api/v1/billing/invoices/i1/issue"]);
    await waitFor(async () => expect(await rowOf(DRAFT.number)).toHaveTextContent("Issued"));
  });

  it("shows the API's refusal inside the confirmation", async () => {
    issueAnswer = () => json(409, { error: { code: "illegal_transition", message: "invoice INV-202611-AAAA is void: it cannot become issued", details: null } });
    renderPage();
    await userEvent.click(within(await rowOf(DRAFT.number)).getByRole("button", { name: `Issue ${DRAFT.number}` }));
    const dialog = screen.getByRole("dialog", { name: `Issue invoice ${DRAFT.number}?` });
    await userEvent.click(within(dialog).getByRole("button", { name: "Issue invoice" }));
    expect(await within(dialog).findByText(/it cannot become issued/)).toBeInTheDocument();
  });

  it("opens an invoice: its lines, totals, the PDF and its moves", async () => {
    renderPage();
    await userEvent.click(within(await rowOf(DRAFT.number)).getByRole("button", { name: DRAFT.number }));
    expect(screen.getByTestId("where")).toHaveTextContent("invoice=i1");
    const dialog = screen.getByRole("dialog", { name: `Invoice ${DRAFT.number}` });
    const lines = await within(dialog).findByRole("table", { name: `Lines of invoice ${DRAFT.number}` });
    expect(lines).toHaveTextContent("llm: H100 GPU time, priority 7");
    expect(within(lines).getByRole("row", { name: /^Total/ })).toHaveTextContent("$108.25");
    expect(within(lines).getByRole("row", { name: /^Tax \(8.25 %\)/ })).toHaveTextContent("$8.25");
    expect(within(dialog).getByRole("button", { name: "Download PDF" })).toBeInTheDocument();
    expect(within(dialog).getByRole("button", { name: "Issue" })).toBeInTheDocument();
    expect(within(dialog).queryByRole("button", { name: "Correct" })).toBeNull();
    await userEvent.click(within(dialog).getByRole("button", { name: "Void" }));
    expect(screen.getByRole("dialog", { name: `Void invoice ${DRAFT.number}?` })).toHaveTextContent("usage becomes unbilled again");
  });
});
