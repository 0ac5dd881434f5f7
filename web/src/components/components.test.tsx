import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { toApiError } from "../api/errors";
import { ErrorAlert } from "./ErrorAlert";
import { StatCard } from "./StatCard";

describe("ErrorAlert", () => {
  it("shows the API's message naming the field, in role=alert", () => {
    const e = toApiError(422, {
      error: {
        code: "validation_error",
        message: "power_target_w: Field required",
        details: [{ field: "power_target_w", in: "body", message: "Field required" }],
      },
    });
    render(<ErrorAlert error={e} title="Could not save" />);
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("Could not save");
    expect(alert).toHaveTextContent("power_target_w: Field required");
    expect(alert).toHaveAttribute("data-field", "power_target_w");
  });

  it("renders nothing without an error and offers a retry when asked", async () => {
    const { rerender } = render(<ErrorAlert error={null} />);
    expect(screen.queryByRole("alert")).toBeNull();
    const retry = vi.fn();
    rerender(<ErrorAlert error={new TypeError("Failed to fetch")} onRetry={retry} />);
    expect(screen.getByRole("alert")).toHaveTextContent(/could not be reached/);
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(retry).toHaveBeenCalledOnce();
  });
});

describe("StatCard", () => {
  it("is a region named by its label, showing the value as text", () => {
    render(<StatCard label="Hashrate" value="3,912 TH/s" hint="of 4,200 TH/s" />);
    const region = screen.getByRole("region", { name: "Hashrate" });
    expect(region.tagName).toBe("SECTION");
    expect(within(region).getByText("3,912 TH/s")).toBeInTheDocument();
    expect(within(region).getByText("of 4,200 TH/s")).toBeInTheDocument();
  });

  it("shows a placeholder while the value is loading", () => {
    render(<StatCard label="Power" value={undefined} />);
    const region = screen.getByRole("region", { name: "Power" });
    expect(region).toHaveAttribute("aria-busy", "true");
    expect(within(region).getByText("Loading")).toBeInTheDocument();
  });
});
