// Filters and paging kept in the URL (useSearchParams), so a view can be shared and reloaded:
// reading is lenient (a bad value is as good as none), writing drops empty values and goes back
// to the first page whenever a filter changes.

export const PAGE_SIZES = [25, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 25;

export interface Paging {
  /** 0-based (the URL's `page` is 1-based) */
  page: number;
  size: number;
}

export type ParamValue = string | number | null | undefined;

export function readPaging(sp: URLSearchParams): Paging {
  const page = Number.parseInt(sp.get("page") ?? "", 10);
  const size = Number.parseInt(sp.get("size") ?? "", 10);
  return {
    page: Number.isFinite(page) && page >= 1 ? page - 1 : 0,
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_PAGE_SIZE,
  };
}

/** The API's `limit` and `offset` for a page. */
export function pageQuery({ page, size }: Paging): { limit: number; offset: number } {
  return { limit: size, offset: page * size };
}

/** `sp` with `changes` applied (null, undefined and "" remove a key); back to page 1 unless only
 * paging changed. A new object: URLSearchParams from the router must not be mutated. */
export function withParams(sp: URLSearchParams, changes: Record<string, ParamValue>): URLSearchParams {
  const next = new URLSearchParams(sp);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") next.delete(key);
    else next.set(key, String(value));
  }
  if (Object.keys(changes).some((k) => k !== "page" && k !== "size")) next.delete("page");
  if ("size" in changes) next.delete("page");
  return next;
}

/** `withParams` for a page change: page 0 is the URL without `page`. */
export function withPage(sp: URLSearchParams, page: number): URLSearchParams {
  return withParams(sp, { page: page > 0 ? page + 1 : null });
}

export function readEnum<T extends string>(sp: URLSearchParams, key: string, allowed: readonly T[]): T | undefined {
  const v = sp.get(key);
  return v !== null && (allowed as readonly string[]).includes(v) ? (v as T) : undefined;
}

export function readText(sp: URLSearchParams, key: string, maxLength = 320): string | undefined {
  const v = sp.get(key)?.trim();
  return v ? v.slice(0, maxLength) : undefined;
}

/** An instant from the URL (any form Date parses that carries a zone), as ISO UTC; else undefined. */
export function readInstant(sp: URLSearchParams, key: string): string | undefined {
  const v = sp.get(key);
  if (!v || !/(Z|[+-]\d{2}:?\d{2})$/i.test(v)) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

const pad = (n: number) => String(n).padStart(2, "0");

/** ISO instant -> the value of an <input type="datetime-local"> in the viewer's zone. */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** An <input type="datetime-local"> value (the viewer's zone) -> ISO UTC; "" or nonsense -> undefined. */
export function fromLocalInput(value: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
