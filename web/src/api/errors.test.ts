import { describe, expect, it } from "vitest";
import { ApiError, describeError, isTransient, toApiError } from "./errors";

describe("toApiError / describeError", () => {
  it("names the field of a 422 from the envelope", () => {
    const e = toApiError(422, {
      error: {
        code: "validation_error",
        message: "power_target_w: Field required",
        details: [{ field: "power_target_w", in: "body", message: "Field required" }],
      },
    });
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(422);
    expect(e.code).toBe("validation_error");
    expect(e.field).toBe("power_target_w");
    expect(describeError(e)).toBe("power_target_w: Field required");
  });

  it("lists every field when there are several", () => {
    const e = toApiError(422, {
      error: {
        code: "validation_error",
        message: "units[0].power_w: must be > 0 (and 1 more)",
        details: [
          { field: "units[0].power_w", in: "body", message: "must be > 0" },
          { field: "name", in: "body", message: "too long" },
        ],
      },
    });
    expect(e.field).toBe("units[0].power_w");
    expect(describeError(e)).toBe("units[0].power_w: must be > 0; name: too long");
  });

  it("uses the message for errors without fields and says how long to wait on a 429", () => {
    expect(describeError(toApiError(401, { error: { code: "invalid_credentials", message: "invalid email or password", details: null } }))).toBe(
      "invalid email or password",
    );
    expect(
      describeError(toApiError(429, { error: { code: "rate_limited", message: "too many login attempts", details: { retry_after_s: 30 } } })),
    ).toBe("too many login attempts (try again in 30 s)");
  });

  it("copes with answers that are not the envelope", () => {
    expect(describeError(toApiError(502, "<html>Bad gateway</html>"))).toMatch(/not reachable/);
    expect(toApiError(422, { detail: [{ loc: ["body", "email"], msg: "Field required" }] }).field).toBe("email");
    expect(describeError(new TypeError("Failed to fetch"))).toMatch(/could not be reached/);
  });

  it("calls network failures and 5xx transient, 4xx not", () => {
    expect(isTransient(new TypeError("Failed to fetch"))).toBe(true);
    expect(isTransient(toApiError(503, null))).toBe(true);
    expect(isTransient(toApiError(404, null))).toBe(false);
    expect(isTransient(toApiError(422, null))).toBe(false);
  });
});
