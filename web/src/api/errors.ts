// Errors from the API as one type. Every API error answer is the envelope
// `{"error": {"code", "message", "details"}}` (src/hcp/core/errors.py); a 422 carries `details` as a
// list of `{field, in?, message}`, a 429 carries `{retry_after_s}`.

export interface FieldProblem {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** The first field the API named (422), e.g. "power_target_w" or "units[0].power_w". */
  readonly field?: string;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details ?? null;
    const first = fieldProblems(details)[0];
    if (first) this.field = first.field;
  }

  /** The problems per field of a 422 answer (empty for any other error). */
  get fields(): FieldProblem[] {
    return fieldProblems(this.details);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `details` of a validation error as `{field, message}` pairs; anything else gives []. */
export function fieldProblems(details: unknown): FieldProblem[] {
  if (!Array.isArray(details)) return [];
  const out: FieldProblem[] = [];
  for (const d of details) {
    if (isRecord(d) && typeof d.field === "string") {
      out.push({ field: d.field, message: typeof d.message === "string" ? d.message : "invalid" });
    }
  }
  return out;
}

const STATUS_TEXT: Record<number, string> = {
  400: "bad request",
  401: "not signed in",
  403: "not allowed",
  404: "not found",
  409: "conflict",
  422: "invalid input",
  429: "too many requests, try again later",
  500: "server error",
  502: "the API is not reachable (bad gateway)",
  503: "service unavailable",
  504: "the API did not answer in time",
};

/** The ApiError for a failed answer, from its status and (parsed) body, envelope or not. */
export function toApiError(status: number, body: unknown): ApiError {
  if (isRecord(body) && isRecord(body.error)) {
    const e = body.error;
    const code = typeof e.code === "string" ? e.code : `http_${status}`;
    const message =
      typeof e.message === "string" && e.message ? e.message : (STATUS_TEXT[status] ?? `HTTP ${status}`);
    return new ApiError(status, code, message, e.details);
  }
  // FastAPI's own shape, should an answer bypass the envelope: {"detail": [{loc, msg}]} or {"detail": "..."}
  if (isRecord(body) && "detail" in body) {
    const detail = body.detail;
    if (typeof detail === "string") return new ApiError(status, `http_${status}`, detail);
    if (Array.isArray(detail)) {
      const details = detail.filter(isRecord).map((d) => ({
        field: Array.isArray(d.loc)
          ? d.loc.filter((p) => !["body", "query", "path", "header", "cookie"].includes(String(p))).join(".") || "body"
          : "body",
        message: typeof d.msg === "string" ? d.msg : "invalid",
      }));
      const first = details[0];
      return new ApiError(status, "validation_error", first ? `${first.field}: ${first.message}` : "invalid input", details);
    }
  }
  if (typeof body === "string" && body.trim() && body.length < 300 && !body.trimStart().startsWith("<")) {
    return new ApiError(status, `http_${status}`, body.trim());
  }
  return new ApiError(status, `http_${status}`, STATUS_TEXT[status] ?? `HTTP ${status}`);
}

/** True for failures worth retrying: no answer at all (network) or a 5xx. */
export function isTransient(e: unknown): boolean {
  if (e instanceof ApiError) return e.status >= 500;
  return e instanceof TypeError || (e instanceof Error && e.name === "NetworkError");
}

/**
 * One line for people: the field named where the API named one ("power_target_w: field required"),
 * the rate limit's wait, or the message.
 */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    const problems = e.fields;
    if (problems.length > 0) {
      const [first, ...rest] = problems as [FieldProblem, ...FieldProblem[]];
      let text = `${first.field}: ${first.message}`;
      if (rest.length > 0) text += `; ${rest.map((p) => `${p.field}: ${p.message}`).join("; ")}`;
      return text;
    }
    if (e.status === 429 && isRecord(e.details) && typeof e.details.retry_after_s === "number") {
      return `${e.message} (try again in ${e.details.retry_after_s} s)`;
    }
    return e.message;
  }
  if (e instanceof TypeError) return "The API could not be reached; check your connection.";
  if (e instanceof Error) return e.message || "Something went wrong.";
  if (typeof e === "string" && e) return e;
  return "Something went wrong.";
}
