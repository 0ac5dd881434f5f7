import { screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resetSessionForTests } from "../../auth/session";
import { renderWithProviders, signedInAs, stubMatchMedia } from "../../shell/testing";
import LandingPage from "./LandingPage";

let fetch: ReturnType<typeof vi.fn>;
beforeEach(() => {
  stubMatchMedia();
  fetch = vi.fn();
  vi.stubGlobal("fetch", fetch);
  resetSessionForTests();
});
afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
  resetSessionForTests();
});

describe("LandingPage", () => {
  it("shows the product, what it does and a sign-in link per role, fetching nothing", () => {
    renderWithProviders(<LandingPage />);
    expect(screen.getByRole("heading", { level: 1, name: "MARA Hybrid Compute Platform" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 2, name: "What HCP does" })).toBeInTheDocument();
    for (const h of ["Economics-driven switching", "Fleet control through real drivers", "AI workloads with fair scheduling", "Billing and budgets", "Live telemetry and alerts"]) {
      expect(screen.getByRole("heading", { level: 3, name: h })).toBeInTheDocument();
    }
    expect(screen.getByRole("link", { name: "Sign in as Operator" })).toHaveAttribute("href", "/signin?role=operator");
    expect(screen.getByRole("link", { name: "Sign in as Admin" })).toHaveAttribute("href", "/signin?role=admin");
    expect(screen.getByRole("link", { name: "Sign in as Customer" })).toHaveAttribute("href", "/signin?role=customer");
    expect(screen.queryByRole("link", { name: "Go to your dashboard" })).toBeNull();
    expect(screen.getByRole("link", { name: "API docs" })).toHaveAttribute("href", "/docs");
    expect(fetch).not.toHaveBeenCalled();
  });

  it("offers the dashboard to someone signed in", () => {
    signedInAs("customer");
    renderWithProviders(<LandingPage />);
    expect(screen.getByRole("link", { name: "Go to your dashboard" })).toHaveAttribute("href", "/app");
    expect(screen.getByText(/signed in as john@acme.com/)).toBeInTheDocument();
  });
});
