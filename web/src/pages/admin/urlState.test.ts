import { describe, expect, it } from "vitest";
import { auditFiltersOf, describeVerification } from "./AuditPage";
import { describeBudget, slugify } from "./CustomersPage";
import { fieldError, keyStatus, onlyFieldErrors } from "./format";
import { ApiError } from "../../api/errors";
import { usersQuery } from "./UsersPage";
import { fromLocalInput, pageQuery, readEnum, readInstant, readPaging, toLocalInput, withPage, withParams } from "./urlState";

const sp = (s: string) => new URLSearchParams(s);

describe("paging in the URL", () => {
  it("reads a 1-based page and a known size, anything else as the defaults", () => {
    expect(readPaging(sp("page=3&size=50"))).toEqual({ page: 2, size: 50 });
    expect(readPaging(sp("page=0&size=7"))).toEqual({ page: 0, size: 25 });
    expect(readPaging(sp("page=abc"))).toEqual({ page: 0, size: 25 });
    expect(pageQuery({ page: 2, size: 50 })).toEqual({ limit: 50, offset: 100 });
  });

  it("goes back to the first page when a filter or the size changes, not when the page does", () => {
    const start = sp("role=customer&page=4");
    expect(withParams(start, { tenant: "t1" }).toString()).toBe("role=customer&tenant=t1");
    expect(withParams(start, { role: "" }).toString()).toBe("");
    expect(withParams(start, { size: 100 }).toString()).toBe("role=customer&size=100");
    expect(withPage(start, 5).toString()).toBe("role=customer&page=6");
    expect(withPage(start, 0).toString()).toBe("role=customer");
    expect(start.toString()).toBe("role=customer&page=4"); // the router's object is left alone
  });

  it("takes only known values", () => {
    expect(readEnum(sp("role=admin"), "role", ["admin", "operator"] as const)).toBe("admin");
    expect(readEnum(sp("role=root"), "role", ["admin", "operator"] as const)).toBeUndefined();
    expect(usersQuery(sp("role=root&tenant=t1&page=2"))).toEqual({ role: undefined, tenant_id: "t1", limit: 25, offset: 25 });
  });
});

describe("times in the URL", () => {
  it("keeps instants with a zone, as UTC", () => {
    expect(readInstant(sp("from=2026-12-07T10:00:00%2B01:00"), "from")).toBe("2026-12-07T09:00:00.000Z");
    expect(readInstant(sp("from=2026-12-07T10:00:00Z"), "from")).toBe("2026-12-07T10:00:00.000Z");
    expect(readInstant(sp("from=2026-12-07T10:00"), "from")).toBeUndefined(); // no zone: ambiguous
    expect(readInstant(sp("from=yesterdayZ"), "from")).toBeUndefined();
  });

  it("round-trips a datetime-local value through UTC in the viewer's zone", () => {
    const iso = fromLocalInput("2026-12-07T14:05");
    expect(iso).toBeDefined();
    expect(toLocalInput(iso)).toBe("2026-12-07T14:05");
    expect(new Date(iso!).getTime()).toBe(new Date(2026, 11, 7, 14, 5).getTime());
    expect(fromLocalInput("")).toBeUndefined();
    expect(fromLocalInput("7/12/2026")).toBeUndefined();
    expect(toLocalInput(undefined)).toBe("");
  });

  it("turns the audit page's URL into the API's filters", () => {
    expect(auditFiltersOf(sp("actor=%20ops@mara.com%20&action=user.created&from=2026-12-01T00:00:00Z&to=bad&page=2")))
      .toEqual({ actor_email: "ops@mara.com", action: "user.created", from: "2026-12-01T00:00:00.000Z", to: undefined });
  });
});

describe("words", () => {
  it("says what the chain's verification found", () => {
    expect(describeVerification({ ok: true, checked: 1234, head: "ab", broken: null }))
      .toBe("Intact: 1,234 entries checked, each following the one before it.");
    expect(describeVerification({ ok: false, checked: 2, head: "ab", broken: { seq: 3, id: "e3", reason: "content does not match its hash" } }))
      .toBe("Broken at entry #3 (e3): content does not match its hash. The 2 entries before it are intact.");
  });

  it("describes budgets and slugs", () => {
    const b = { tenant_id: "t", month: "2026-12", metered_usd: "0", running_usd: "0", remaining_usd: null, thresholds_pct: [50, 80, 100], updated_at: null };
    expect(describeBudget({ ...b, monthly_limit_usd: "5000.00", spent_usd: "1200.00", used_pct: "24.0" })).toBe("$1,200.00 of $5,000.00 (24 %)");
    expect(describeBudget({ ...b, monthly_limit_usd: null, spent_usd: "12.5", used_pct: null })).toBe("$12.50 spent, no budget set");
    expect(slugify("  Acme Corp. (Zürich) ")).toBe("acme-corp-zurich");
  });

  it("finds a 422's message for a field", () => {
    const e = new ApiError(422, "validation_error", "bad", [{ field: "new_password", message: "too short" }]);
    expect(fieldError(e, "new_password")).toBe("too short");
    expect(fieldError(e, "current_password")).toBeUndefined();
    expect(onlyFieldErrors(e, ["new_password"])).toBe(true);
    expect(onlyFieldErrors(e, ["email"])).toBe(false);
    expect(onlyFieldErrors(new ApiError(409, "conflict", "exists"), ["email"])).toBe(false);
  });

  it("names a key's state", () => {
    const now = Date.parse("2026-12-07T12:00:00Z");
    expect(keyStatus({ revoked_at: null, expires_at: null }, now)).toBe("Active");
    expect(keyStatus({ revoked_at: null, expires_at: "2026-12-07T11:59:59Z" }, now)).toBe("Expired");
    expect(keyStatus({ revoked_at: "2026-12-01T00:00:00Z", expires_at: null }, now)).toBe("Revoked");
  });
});
