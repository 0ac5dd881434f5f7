// The workloads list's state as the URL keeps it: filters, sort, page and the open workload, so a
// reload, a shared link or the back button shows the same view. Pure functions, tested.
import type { Schemas } from "../../api/client";
import type { WorkloadListParams } from "../../live/cache";
import { readEnum, readText } from "../admin/urlState";

export type WorkloadStatus = Schemas["WorkloadStatus"];
export type WorkloadType = Schemas["WorkloadType"];
export type GpuModel = Schemas["GpuModelChoice"];

export const STATUSES: readonly WorkloadStatus[] = [
  "submitted", "queued", "scheduled", "switching", "running", "preempted", "completed", "failed", "cancelled",
];
/** The statuses a workload can still be cancelled from (the lifecycle's non-final ones). */
export const CANCELLABLE: readonly WorkloadStatus[] = ["submitted", "queued", "scheduled", "switching", "running", "preempted"];
export const TYPES: readonly WorkloadType[] = ["ai_inference", "ai_training", "batch"];
export const GPU_MODELS: readonly GpuModel[] = ["H100", "A100", "any"];
export const TYPE_LABELS: Record<WorkloadType, string> = {
  ai_inference: "Inference", ai_training: "Training", batch: "Batch",
};

/** Columns the API sorts by (GET /workloads?sort=). */
export const SORTABLE = ["name", "tenant_id", "status", "type", "gpu_model", "gpu_count", "priority", "submitted_at", "started_at"] as const;
export type SortField = (typeof SORTABLE)[number];

export const PAGE_SIZES = [25, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 25;

export interface WorkloadFilters {
  status?: WorkloadStatus;
  /** a customer (tenant) id; "customer" in the URL */
  customer?: string;
  type?: WorkloadType;
  gpu_model?: GpuModel;
  q?: string;
}

export const FILTER_KEYS = ["status", "customer", "type", "gpu_model", "q"] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

export interface ListState {
  filters: WorkloadFilters;
  /** null: the API's default, newest submitted first */
  sort: { field: SortField; direction: "asc" | "desc" } | null;
  /** 0-based */
  page: number;
  pageSize: number;
  /** the workload whose dialog is open (`?id=`) */
  open?: string;
}

/** The list's state from the URL; what is missing or not understood takes its default. */
export function parseListState(params: URLSearchParams): ListState {
  const filters: WorkloadFilters = {
    status: readEnum(params, "status", STATUSES),
    customer: readText(params, "customer", 32),
    type: readEnum(params, "type", TYPES),
    gpu_model: readEnum(params, "gpu_model", GPU_MODELS),
    q: readText(params, "q", 100),
  };
  for (const key of FILTER_KEYS) if (filters[key] === undefined) delete filters[key];
  const rawSort = params.get("sort") ?? "";
  const field = SORTABLE.find((f) => f === rawSort.replace(/^-/, ""));
  const sort = field ? { field, direction: rawSort.startsWith("-") ? ("desc" as const) : ("asc" as const) } : null;
  const size = Number(params.get("size"));
  const pageSize = (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_PAGE_SIZE;
  const page = Number(params.get("page"));
  const state: ListState = { filters, sort, pageSize, page: Number.isInteger(page) && page > 1 ? page - 1 : 0 };
  const open = readText(params, "id", 32);
  if (open) state.open = open;
  return state;
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
  if (state.open) out.set("id", state.open);
  return out;
}

export function sortParam(sort: ListState["sort"]): string | undefined {
  return sort ? `${sort.direction === "desc" ? "-" : ""}${sort.field}` : undefined;
}

/** A filter changed: back to the first page (the old page may not exist any more). */
export function withFilter(state: ListState, key: FilterKey, value: string | undefined): ListState {
  const filters: WorkloadFilters = { ...state.filters };
  const v = value?.trim() ? value.trim() : undefined;
  if (v === undefined) delete filters[key];
  else (filters as Record<string, string>)[key] = v;
  return { ...state, filters, page: 0 };
}

/** A click on a column header: ascending, then descending, then the default order. */
export function nextSort(state: ListState, field: SortField): ListState {
  const current = state.sort?.field === field ? state.sort.direction : null;
  const sort = current === null ? { field, direction: "asc" as const }
    : current === "asc" ? { field, direction: "desc" as const } : null;
  return { ...state, sort, page: 0 };
}

export type ExportParams = Omit<WorkloadListParams, "limit" | "offset">;

/** The API's filters and order (the export takes these, less the paging). */
export function exportQuery(state: ListState): ExportParams {
  const f = state.filters;
  const out: ExportParams = {};
  if (f.status) out.status = f.status;
  if (f.customer) out.tenant_id = f.customer;
  if (f.type) out.type = f.type;
  if (f.gpu_model) out.gpu_model = f.gpu_model;
  if (f.q) out.q = f.q;
  const sort = sortParam(state.sort);
  if (sort) out.sort = sort;
  return out;
}

export function apiQuery(state: ListState): WorkloadListParams {
  return { ...exportQuery(state), limit: state.pageSize, offset: state.page * state.pageSize };
}

export function activeFilterCount(state: ListState): number {
  return FILTER_KEYS.filter((k) => state.filters[k] !== undefined).length;
}

/** A duration in seconds as a person reads it: "45 s", "12 min", "3 h 05 min", "2 d 4 h". */
export function formatWait(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Milliseconds to one decimal: "412.3 ms". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  return `${ms.toFixed(1)} ms`;
}

/** "queued" -> "Queued", "ai_training" -> "Ai training" (types have TYPE_LABELS). */
export function label(value: string): string {
  const t = value.replace(/_/g, " ");
  return t.charAt(0).toUpperCase() + t.slice(1);
}
