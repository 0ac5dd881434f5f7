// The resources list's state as the URL keeps it: filters, sort and page in the search params, so
// a reload, a shared link or the back button shows the same units. Pure functions, tested.
import type { Schemas } from "../../api/client";
import type { UnitListParams } from "../../live/cache";

export const KINDS: readonly Schemas["UnitKind"][] = ["asic", "gpu"];
export const STATUSES: readonly Schemas["UnitStatus"][] = ["online", "offline", "maintenance", "switching"];
export const HEALTHS: readonly Schemas["Health"][] = ["ok", "warning", "critical"];
export const MODES: readonly Schemas["UnitMode"][] = ["mining", "curtailed", "workload", "spot", "idle", "unknown"];

/** Columns the API sorts by (GET /resources?sort=). */
export const SORTABLE = ["id", "kind", "model", "facility_id", "status", "health", "mode", "workload_id"] as const;
export type SortField = (typeof SORTABLE)[number];

export const PAGE_SIZES = [25, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 25;

export interface UnitFilters {
  kind?: Schemas["UnitKind"];
  facility_id?: string;
  rack_id?: string;
  status?: Schemas["UnitStatus"];
  health?: Schemas["Health"];
  mode?: Schemas["UnitMode"];
  model?: string;
  q?: string;
}

export interface ListState {
  filters: UnitFilters;
  sort: { field: SortField; direction: "asc" | "desc" } | null;
  /** 0-based */
  page: number;
  pageSize: number;
}

export const FILTER_KEYS = ["kind", "facility_id", "rack_id", "status", "health", "mode", "model", "q"] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | undefined {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

function text(value: string | null, max: number): string | undefined {
  const v = value?.trim();
  return v ? v.slice(0, max) : undefined;
}

/** The list's state from the URL; what is missing or not understood takes its default. */
export function parseListState(params: URLSearchParams): ListState {
  const filters: UnitFilters = {
    kind: oneOf(params.get("kind"), KINDS),
    facility_id: text(params.get("facility_id"), 64),
    rack_id: text(params.get("rack_id"), 64),
    status: oneOf(params.get("status"), STATUSES),
    health: oneOf(params.get("health"), HEALTHS),
    mode: oneOf(params.get("mode"), MODES),
    model: text(params.get("model"), 100),
    q: text(params.get("q"), 100),
  };
  for (const key of FILTER_KEYS) if (filters[key] === undefined) delete filters[key];
  const rawSort = params.get("sort") ?? "";
  const field = oneOf(rawSort.replace(/^-/, ""), SORTABLE);
  const sort = field ? { field, direction: rawSort.startsWith("-") ? ("desc" as const) : ("asc" as const) } : null;
  const size = Number(params.get("size"));
  const pageSize = (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_PAGE_SIZE;
  const page = Number(params.get("page"));
  return { filters, sort, pageSize, page: Number.isInteger(page) && page > 1 ? page - 1 : 0 };
}

/** The URL's search params for a state (defaults left out; the page is 1-based there). */
export function listStateToParams(state: ListState): URLSearchParams {
  const out = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const v = state.filters[key];
    if (v !== undefined && v !== "") out.set(key, v);
  }
  if (state.sort) out.set("sort", sortParam(state.sort)!);
  if (state.page > 0) out.set("page", String(state.page + 1));
  if (state.pageSize !== DEFAULT_PAGE_SIZE) out.set("size", String(state.pageSize));
  return out;
}

export function sortParam(sort: ListState["sort"]): string | undefined {
  return sort ? `${sort.direction === "desc" ? "-" : ""}${sort.field}` : undefined;
}

/** A filter changed: back to the first page (the old page may not exist any more). A rack belongs
 * to a facility, so changing the facility drops the rack. */
export function withFilter(state: ListState, key: FilterKey, value: string | undefined): ListState {
  const filters: UnitFilters = { ...state.filters };
  const v = value?.trim() ? value : undefined;
  if (v === undefined) delete filters[key];
  else (filters as Record<string, string>)[key] = v;
  if (key === "facility_id") delete filters.rack_id;
  return { ...state, filters, page: 0 };
}

/** A click on a column header: ascending, then descending, then the default order. */
export function nextSort(state: ListState, field: SortField): ListState {
  const current = state.sort?.field === field ? state.sort.direction : null;
  const sort = current === null ? { field, direction: "asc" as const }
    : current === "asc" ? { field, direction: "desc" as const } : null;
  return { ...state, sort, page: 0 };
}

/** The API's query for the list (the export takes the same, less the paging). */
export function apiQuery(state: ListState): UnitListParams {
  return { ...state.filters, sort: sortParam(state.sort), limit: state.pageSize, offset: state.page * state.pageSize };
}

export function exportQuery(state: ListState): Omit<UnitListParams, "limit" | "offset"> {
  const { limit: _limit, offset: _offset, ...rest } = apiQuery(state);
  return rest;
}

export function activeFilterCount(state: ListState): number {
  return FILTER_KEYS.filter((k) => state.filters[k] !== undefined).length;
}

/** The file name a Content-Disposition header gives, else `fallback`. */
export function filenameOf(disposition: string | null, fallback: string): string {
  const match = disposition ? /filename="?([^";]+)"?/i.exec(disposition) : null;
  return match?.[1]?.trim() || fallback;
}
