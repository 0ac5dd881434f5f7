import { render, screen } from "@testing-library/react";
import { Suspense } from "react";
import { MemoryRouter } from "react-router";
import { describe, expect, it, vi } from "vitest";
import { RequireRole } from "./RequireRole";

const auth = vi.hoisted(() => ({ role: "customer" as "admin" | "operator" | "customer" }));
vi.mock("./AuthProvider", () => ({
  useAuth: () => ({ user: { id: "u", email: "x@y.z", role: auth.role, tenant_id: null, scopes: [] } }),
}));

function page() {
  return render(
    <MemoryRouter>
      <Suspense fallback={null}>
        <RequireRole roles={["admin", "operator"]}>
          <h1>Resources</h1>
        </RequireRole>
      </Suspense>
    </MemoryRouter>,
  );
}

describe("RequireRole", () => {
  it("shows the page to a role that may see it", async () => {
    auth.role = "operator";
    page();
    expect(await screen.findByRole("heading", { name: "Resources" })).toBeInTheDocument();
  });

  it("shows anyone else the 404 page, not the page", async () => {
    auth.role = "customer";
    page();
    expect(await screen.findByRole("heading", { name: "Page not found" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Resources" })).not.toBeInTheDocument();
  });
});
