import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useLocation } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { getAccessToken, resetSessionForTests } from "../../auth/session";
import { USERS, json, renderWithProviders, stubMatchMedia } from "../../shell/testing";
import SignInPage from "./SignInPage";

function Where() {
  const l = useLocation();
  return <p>at {l.pathname + l.search}</p>;
}

function renderAt(path: string) {
  return renderWithProviders(
    <Routes>
      <Route path="/signin" element={<SignInPage />} />
      <Route path="*" element={<Where />} />
    </Routes>,
    { path },
  );
}

async function fill(email: string, password: string) {
  await userEvent.type(screen.getByLabelText(/^Email/), email);
  await userEvent.type(screen.getByLabelText(/^Password/), password);
}

beforeEach(() => {
  stubMatchMedia();
  resetSessionForTests();
});
afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
  resetSessionForTests();
});

describe("SignInPage", () => {
  it("has the form people and browsers expect", () => {
    renderAt("/signin?role=operator");
    expect(screen.getByRole("heading", { level: 1, name: "Sign in" })).toBeInTheDocument();
    const email = screen.getByLabelText(/^Email/);
    const password = screen.getByLabelText(/^Password/);
    expect(email).toHaveAttribute("type", "email");
    expect(email).toHaveAttribute("autocomplete", "username");
    expect(email).toHaveValue(""); // the role prefills nothing
    expect(password).toHaveAttribute("type", "password");
    expect(password).toHaveAttribute("autocomplete", "current-password");
    expect(screen.getByText(/Operator sign-in/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Sign in" })).toBeEnabled();
  });

  it("shows the API's error in role=alert and lets the user try again", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => json(401, { error: { code: "invalid_credentials", message: "invalid email or password", details: null } })),
    );
    renderAt("/signin");
    await fill("ops@mara.com", "wrong");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("invalid email or password");
    expect(screen.getByRole("button", { name: "Sign in" })).toBeEnabled();
    expect(getAccessToken()).toBeNull();
  });

  it("says how long to wait when rate limited", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => json(429, { error: { code: "rate_limited", message: "too many login attempts", details: { retry_after_s: 60 } } })),
    );
    renderAt("/signin");
    await fill("ops@mara.com", "x");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("too many login attempts (try again in 60 s)");
  });

  it("disables the button while signing in, then goes to next", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    vi.stubGlobal(
      "fetch",
      vi.fn(async (req: Request) => {
        const path = new URL(req.url).pathname;
        if (path === "/api/v1/auth/login") {
          await gate;
          return json(200, { access_token: "a1", refresh_token: "r1", token_type: "bearer", expires_in: 900 });
        }
        if (path === "/api/v1/auth/me") return json(200, USERS.operator);
        return json(404, { error: { code: "not_found", message: "no", details: null } });
      }),
    );
    renderAt("/signin?next=%2Fapp%2Fhelp");
    await fill("ops@mara.com", "operator123");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Sign in" })).toBeDisabled());
    release();
    expect(await screen.findByText("at /app/help")).toBeInTheDocument();
    expect(getAccessToken()).toBe("a1");
  });

  it("never follows next to another site", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (req: Request) =>
        new URL(req.url).pathname === "/api/v1/auth/me"
          ? json(200, USERS.customer)
          : json(200, { access_token: "a1", refresh_token: "r1", token_type: "bearer", expires_in: 900 }),
      ),
    );
    renderAt("/signin?next=%2F%2Fevil.example%2Fx");
    await fill("john@acme.com", "customer123");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("at /app")).toBeInTheDocument();
  });
});
