// Billing's data for the admin page: revenue (by month, source and customer), every customer's
// invoices (filtered and paged by the server), one invoice with its lines, the rate card, and the
// admin's moves on an invoice. Invoices live under the live cache's "billing" key, which the
// WebSocket's billing events invalidate; voids and corrections publish nothing, so the list also
// refetches on an interval.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, call, unwrap, type Schemas } from "../../api/client";
import type { paths } from "../../api/schema";
import { cleanParams, liveQueryDefaults, queryKeys } from "../../live/cache";
import { filenameOf } from "../admin/queries";

type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } }
  ? NonNullable<Q>
  : never;

export type InvoiceListParams = QueryOf<"/api/v1/billing/invoices">;
export type InvoiceFilters = Omit<InvoiceListParams, "limit" | "offset">;
export type InvoiceSummary = Schemas["InvoiceSummary"];
export type Invoice = Schemas["InvoiceOut"];
export type InvoiceStatus = Schemas["InvoiceStatus"];
export type RevenueReport = Schemas["RevenueReport"];
export type MonthRevenue = Schemas["MonthRevenue"];
export type CustomerRevenue = Schemas["CustomerRevenue"];
export type RateCard = Schemas["RateCard"];

export const REFRESH_MS = 15_000;
/** Months the revenue chart shows, ending with the month reported. */
export const REVENUE_MONTHS = 6;

export const billingKeys = {
  revenue: (month: string | undefined) => ["billing", "revenue", month ?? null, REVENUE_MONTHS] as const,
  invoice: (id: string) => ["billing", "invoice", id] as const,
  rates: ["billing", "rates"] as const,
};

export function useRevenue(month: string | undefined) {
  return useQuery({
    queryKey: billingKeys.revenue(month),
    queryFn: () =>
      call(api.GET("/api/v1/billing/revenue", { params: { query: { ...(month ? { month } : {}), months: REVENUE_MONTHS } } })),
    placeholderData: keepPreviousData,
    refetchInterval: 60_000,
  });
}

export function useInvoices(params: InvoiceListParams) {
  return useQuery({
    ...liveQueryDefaults,
    queryKey: queryKeys.invoices(params),
    queryFn: () => call(api.GET("/api/v1/billing/invoices", { params: { query: cleanParams(params) } })),
    placeholderData: keepPreviousData,
    refetchInterval: REFRESH_MS,
  });
}

export function useInvoice(id: string | undefined) {
  return useQuery({
    queryKey: billingKeys.invoice(id ?? ""),
    queryFn: () => call(api.GET("/api/v1/billing/invoices/{invoice_id}", { params: { path: { invoice_id: id! } } })),
    enabled: id !== undefined,
  });
}

export function useRates() {
  return useQuery({
    queryKey: billingKeys.rates,
    queryFn: () => call(api.GET("/api/v1/billing/rates")),
    staleTime: 5 * 60_000,
  });
}

export type InvoiceAction = "issue" | "void" | "correct";

/** Issue, void or correct an invoice; the answer is the invoice as it now is (a correction: the
 * new document). Every billing view refetches, and the audit log has an entry more. */
export function useInvoiceAction() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action }: { id: string; action: InvoiceAction }) => {
      const path = { params: { path: { invoice_id: id } } };
      if (action === "issue") return call(api.POST("/api/v1/billing/invoices/{invoice_id}/issue", path));
      if (action === "void") return call(api.POST("/api/v1/billing/invoices/{invoice_id}/void", path));
      return call(api.POST("/api/v1/billing/invoices/{invoice_id}/correct", path));
    },
    onSuccess: (invoice) => {
      qc.setQueryData(billingKeys.invoice(invoice.id), invoice);
      return Promise.all([
        qc.invalidateQueries({ queryKey: queryKeys.billing }),
        qc.invalidateQueries({ queryKey: ["auth", "audit"] }),
      ]);
    },
  });
}

/** A response body saved by the browser under the server's file name (or `fallback`). */
function save(data: Blob, disposition: string | null, fallback: string): void {
  const url = URL.createObjectURL(data);
  try {
    const a = document.createElement("a");
    a.href = url;
    a.download = filenameOf(disposition, fallback);
    document.body.appendChild(a);
    a.click();
    a.remove();
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/** Every invoice `filters` select (all pages) as CSV, saved by the browser. */
export async function downloadInvoicesCsv(filters: InvoiceFilters): Promise<void> {
  const r = await api.GET("/api/v1/billing/invoices/export.csv", { params: { query: cleanParams(filters) }, parseAs: "blob" });
  save(unwrap(r) as Blob, r.response.headers.get("content-disposition"), "invoices.csv");
}

/** The invoice's PDF (its route needs the session's token, so it is fetched, then saved). */
export async function downloadInvoicePdf(invoice: { id: string; number: string }): Promise<void> {
  const r = await api.GET("/api/v1/billing/invoices/{invoice_id}/pdf", {
    params: { path: { invoice_id: invoice.id } }, parseAs: "blob",
  });
  save(unwrap(r) as Blob, r.response.headers.get("content-disposition"), `${invoice.number}.pdf`);
}
