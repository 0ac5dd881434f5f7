// The Billing page's rules, apart from React: which moves an invoice's state allows (the API's
// state machine: draft -> issued -> paid, draft | issued -> void; a correction voids an issued
// invoice and issues a new document), what each one does in words, the filters the URL holds,
// and the charts' text alternatives.
import { formatUsd } from "../dashboard/format";
import { readEnum, readText } from "../admin/urlState";
import type { CustomerRevenue, InvoiceAction, InvoiceFilters, InvoiceStatus, MonthRevenue } from "./queries";

export const STATUSES: readonly InvoiceStatus[] = ["draft", "issued", "paid", "void"];
export const STATUS_LABELS: Record<InvoiceStatus, string> = { draft: "Draft", issued: "Issued", paid: "Paid", void: "Void" };
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** The moves an invoice in `status` allows, in the order the page offers them. A paid invoice is
 * final (the API refuses to void it), and a draft is voided or issued, never corrected. */
export function actionsFor(status: InvoiceStatus): InvoiceAction[] {
  switch (status) {
    case "draft": return ["issue", "void"];
    case "issued": return ["correct", "void"];
    default: return [];
  }
}

export interface ActionText {
  /** the button's label */
  label: string;
  /** the confirmation's title */
  title: (number: string) => string;
  /** what confirming does */
  consequence: string;
  confirm: string;
}

export const ACTION_TEXT: Record<InvoiceAction, ActionText> = {
  issue: {
    label: "Issue",
    title: (n) => `Issue invoice ${n}?`,
    consequence: "The customer is billed: the invoice can be paid from now on and can no longer be edited, only voided or corrected.",
    confirm: "Issue invoice",
  },
  void: {
    label: "Void",
    title: (n) => `Void invoice ${n}?`,
    consequence: "The invoice stops being payable and its usage becomes unbilled again, to be billed by another invoice. This cannot be undone.",
    confirm: "Void invoice",
  },
  correct: {
    label: "Correct",
    title: (n) => `Correct invoice ${n}?`,
    consequence: "The invoice is voided and a new one is issued for the same usage at today's rates of tax. The customer pays the new one.",
    confirm: "Void and reissue",
  },
};

/** The invoice filters the URL holds (`customer`, `status`, `period`), as the API names them. */
export function invoiceFiltersOf(sp: URLSearchParams): InvoiceFilters {
  const period = sp.get("period");
  return {
    tenant_id: readText(sp, "customer", 32),
    status: readEnum(sp, "status", STATUSES),
    period: period && MONTH.test(period) ? period : undefined,
  };
}

/** The month the revenue figures are for (`month` in the URL), or undefined: the current one. */
export function revenueMonthOf(sp: URLSearchParams): string | undefined {
  const m = sp.get("month");
  return m && MONTH.test(m) ? m : undefined;
}

/** "2026-11" -> "Nov 2026". */
export function monthLabel(month: string): string {
  const [y, m] = month.split("-").map(Number);
  if (!y || !m) return month;
  return new Date(Date.UTC(y, m - 1, 1)).toLocaleDateString("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
}

/** The revenue-by-month chart in words, month by month. */
export function describeMonths(months: readonly MonthRevenue[]): string {
  if (months.length === 0) return "No revenue recorded.";
  return months.map((m) => `${monthLabel(m.month)}: ${formatUsd(m.revenue_usd)} ` +
    `(AI ${formatUsd(m.ai_usd)}, mining ${formatUsd(m.mining_usd)})`).join("; ") + ".";
}

/** The revenue-by-customer chart in words, largest first. */
export function describeCustomers(customers: readonly CustomerRevenue[], month: string): string {
  if (customers.length === 0) return `No customer used GPUs in ${monthLabel(month)}.`;
  return `AI revenue in ${monthLabel(month)}: ` +
    customers.map((c) => `${c.name} ${formatUsd(c.revenue_usd)}`).join(", ") + ".";
}

/** Months to choose the revenue figures from: the `count` months up to `current` ("YYYY-MM"), newest first. */
export function recentMonths(current: string, count = 12): string[] {
  const [y, m] = current.split("-").map(Number);
  if (!y || !m) return [];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const index = y * 12 + (m - 1) - i;
    out.push(`${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}`);
  }
  return out;
}

/** The current month ("YYYY-MM", UTC, as the API's months are). */
export function currentMonth(now = new Date()): string {
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
}
