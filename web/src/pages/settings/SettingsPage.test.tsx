import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { json, renderWithProviders, signedInAs } from "../../shell/testing";
import SettingsPage, { formatCapKw, passwordMismatch } from "./SettingsPage";

const SECRET = "hcp_s3cr3t-value-shown-once";
type Key = { id: string; user_id: string; name: string; hint: string; scopes: string[]; created_at: string;
  expires_at: string | null; last_used_at: string | null; revoked_at: string | null };
let keys: Key[];
let calls: { method: string; path: string; body: unknown }[];

beforeEach(() => {
  keys = [];
  calls = [];
  signedInAs("operator");
  vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    const body = request.method === "GET" || request.method === "DELETE" ? undefined : await request.json();
    calls.push({ method: request.method, path: url.pathname, body });
    if (url.pathname === "/api/v1/facilities") {
      return json(200, { items: [{ id: "f1", name: "Texas 1", location: "Garden City, TX", power_cap_kw: 12500, market_node: "HB_WEST" }], total: 1 });
    }
    if (url.pathname === "/api/v1/auth/me/password") {
      const b = body as { current_password: string };
      if (b.current_password !== "operator123") {
        return json(422, { error: { code: "validation_error", message: "invalid", details: [{ field: "current_password", message: "is not correct" }] } });
      }
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/api/v1/auth/api-keys" && request.method === "GET") return json(200, { items: keys, total: keys.length });
    if (url.pathname === "/api/v1/auth/api-keys" && request.method === "POST") {
      const b = body as { name: string; scopes: string[] };
      const key: Key = { id: "k1", user_id: "u-ops", name: b.name, hint: "hcp_s3cr…once", scopes: b.scopes,
        created_at: "2026-12-07T10:00:00Z", expires_at: "2027-03-07T10:00:00Z", last_used_at: null, revoked_at: null };
      keys = [key];
      return json(201, { ...key, key: SECRET });
    }
    if (url.pathname === "/api/v1/auth/api-keys/k1" && request.method === "DELETE") {
      keys = keys.map((k) => ({ ...k, revoked_at: "2026-12-07T11:00:00Z" }));
      return new Response(null, { status: 204 });
    }
    return json(404, { error: { code: "not_found", message: "no", details: null } });
  }));
});
afterEach(() => vi.unstubAllGlobals());

describe("SettingsPage", () => {
  it("shows the profile and the facilities' power caps read-only", async () => {
    renderWithProviders(<SettingsPage />);
    expect(screen.getByRole("heading", { level: 1, name: "Settings" })).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Profile" })).toHaveTextContent("ops@mara.com");
    const caps = await screen.findByRole("table", { name: "Facilities' power caps" });
    expect(await within(caps).findByRole("rowheader", { name: "Texas 1" })).toBeInTheDocument();
    expect(caps).toHaveTextContent("12.50 MW");
    expect(formatCapKw(12500)).toBe("12.50 MW");
    expect(formatCapKw(30000)).toBe("30 MW");
    expect(formatCapKw(800)).toBe("800 kW");
  });

  it("shows the API's 422 next to the password field, and checks the repeat before asking", async () => {
    renderWithProviders(<SettingsPage />);
    const form = screen.getByRole("form", { name: "Password" });
    await userEvent.type(within(form).getByLabelText(/^Current password/), "wrong-one");
    await userEvent.type(within(form).getByLabelText(/^New password$|^New password \*/), "a-new-password");
    await userEvent.type(within(form).getByLabelText(/^New password again/), "a-new-passwort");
    await userEvent.click(within(form).getByRole("button", { name: "Change password" }));
    expect(within(form).getByText("The two passwords differ")).toBeInTheDocument();
    expect(calls.filter((c) => c.path === "/api/v1/auth/me/password")).toEqual([]);

    await userEvent.clear(within(form).getByLabelText(/^New password again/));
    await userEvent.type(within(form).getByLabelText(/^New password again/), "a-new-password");
    await userEvent.click(within(form).getByRole("button", { name: "Change password" }));
    expect(await within(form).findByText("is not correct")).toBeInTheDocument();
    expect(within(form).getByLabelText(/^Current password/)).toHaveAttribute("aria-invalid", "true");
    expect(passwordMismatch("a", "")).toBeUndefined();
  });

  it("shows a new key's secret once, with a copy button, and revokes a key after the confirmation", async () => {
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    renderWithProviders(<SettingsPage />);
    const section = screen.getByRole("region", { name: "API keys" });
    expect(await within(section).findByText("No API keys.")).toBeInTheDocument();

    await userEvent.click(within(section).getByRole("button", { name: "Create API key" }));
    let dialog = screen.getByRole("dialog", { name: "Create API key" });
    expect(within(dialog).queryByLabelText(/admin:/)).toBeNull(); // an operator cannot grant admin
    await userEvent.type(within(dialog).getByLabelText(/^Name/), "grafana");
    await userEvent.click(within(dialog).getByRole("button", { name: "Create key" }));

    dialog = await screen.findByRole("dialog", { name: "Your new API key" });
    expect(within(dialog).getByRole("alert")).toHaveTextContent("shown this once");
    expect(within(dialog).getByLabelText("API key")).toHaveValue(SECRET);
    await userEvent.click(within(dialog).getByRole("button", { name: "Copy key" }));
    expect(writeText).toHaveBeenCalledWith(SECRET);
    expect(within(dialog).getByRole("status")).toHaveTextContent("Copied");
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ name: "grafana", scopes: ["read"], expires_in_days: 90 });

    await userEvent.click(within(dialog).getByRole("button", { name: "I have copied it" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(screen.queryByDisplayValue(SECRET)).toBeNull();
    expect(document.body.textContent).not.toContain(SECRET);
    const row = (await within(section).findByRole("rowheader", { name: "grafana" })).closest("tr")!;
    expect(row).toHaveTextContent("Active");

    await userEvent.click(within(row).getByRole("button", { name: "Revoke grafana" }));
    const confirm = screen.getByRole("dialog", { name: "Revoke the API key grafana?" });
    expect(confirm).toHaveTextContent("stops working at once");
    await userEvent.click(within(confirm).getByRole("button", { name: "Revoke key" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual(["/api/v1/auth/api-keys/k1"]);
    await waitFor(() => expect(within(section).getByRole("rowheader", { name: "grafana" }).closest("tr")).toHaveTextContent("Revoked"));
  });
});
