import { screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { json, renderWithProviders, signedInAs } from "../../shell/testing";
import HelpPage from "./HelpPage";

beforeEach(() => {
  vi.stubGlobal("fetch", vi.fn(async (request: Request) => {
    const url = new URL(request.url);
    if (url.pathname === "/health") return json(200, { status: "ok", demo: true, service: "hcp", domains: [], components: {} });
    return json(404, { error: { code: "not_found", message: "no", details: null } });
  }));
});
afterEach(() => vi.unstubAllGlobals());

describe("HelpPage", () => {
  it("gives operators the API docs, the Grafana dashboards and the runbooks", async () => {
    signedInAs("operator");
    renderWithProviders(<HelpPage />);
    expect(screen.getByRole("link", { name: "Interactive API documentation" })).toHaveAttribute("href", "/docs");
    expect(screen.getByRole("link", { name: "API reference (ReDoc)" })).toHaveAttribute("href", "/redoc");
    const dashboards = screen.getByRole("table", { name: "Grafana dashboards" });
    for (const uid of ["hcp-fleet-overview", "hcp-economics", "hcp-workloads"]) {
      expect(dashboards).toHaveTextContent(uid);
    }
    const runbooks = screen.getByRole("region", { name: "Runbooks" });
    for (const title of ["A miner overheats", "A facility goes over its power cap", "A demand-response event",
      "The database is down", "A GPU falls off the bus"]) {
      expect(screen.getByRole("heading", { level: 3, name: title })).toBeInTheDocument();
    }
    expect(runbooks).toHaveTextContent("least efficient");
    expect(await screen.findByRole("table", { name: "Demo mode" })).toBeInTheDocument();
  });

  it("keeps the operator docs from customers", async () => {
    signedInAs("customer");
    renderWithProviders(<HelpPage />);
    expect(screen.getByRole("link", { name: "Interactive API documentation" })).toBeInTheDocument();
    expect(screen.queryByRole("region", { name: "Runbooks" })).toBeNull();
    expect(screen.queryByRole("region", { name: "Grafana dashboards" })).toBeNull();
  });
});
