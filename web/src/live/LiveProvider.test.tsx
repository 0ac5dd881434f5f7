import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Me } from "../auth/session";
import { liveQueryDefaults, queryKeys } from "./cache";
import { LiveClient } from "./LiveClient";
import { LiveProvider, useLiveEvent, useLiveStatus } from "./LiveProvider";
import { FakeSocket, flush } from "./testing";
import type { AlertView, WorkloadList } from "./types";

// The session as a store, as AuthProvider's useAuth reads it.
const auth = vi.hoisted(() => {
  const listeners = new Set<() => void>();
  const store = {
    user: null as Me | null,
    set(user: Me | null) {
      store.user = user;
      for (const fn of listeners) fn();
    },
    subscribe(fn: () => void) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  return store;
});
vi.mock("../auth/AuthProvider", async () => {
  const { useSyncExternalStore } = await vi.importActual<typeof import("react")>("react");
  return { useAuth: () => ({ user: useSyncExternalStore(auth.subscribe, () => auth.user) }) };
});

const operator: Me = { id: "u1", email: "ops@mara.com", role: "operator", tenant_id: null, scopes: [] };

function makeClient() {
  return new LiveClient({
    getToken: () => "tok",
    refreshToken: async () => "tok",
    fetchChannels: async () => ["alerts", "workloads"],
    url: (t) => `ws://test/ws?token=${t}`,
    WebSocket: FakeSocket,
    isOnline: () => true,
    events: null,
  });
}

function Probe({ onWorkload }: { onWorkload?: (id: string) => void }) {
  const status = useLiveStatus();
  useLiveEvent("workloads", (e) => onWorkload?.(e.data.id));
  return <p>Live updates: {status}</p>;
}

function setup(onWorkload?: (id: string) => void) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { ...liveQueryDefaults } } });
  const ui = (
    <QueryClientProvider client={queryClient}>
      <MemoryRouter>
        <LiveProvider create={makeClient}>
          <Probe onWorkload={onWorkload} />
        </LiveProvider>
      </MemoryRouter>
    </QueryClientProvider>
  );
  render(ui);
  return { queryClient };
}

async function connect() {
  await act(async () => {
    FakeSocket.last().open();
    await flush();
    FakeSocket.last().subscribed(["alerts", "workloads"]);
  });
}

const alert = (id: string, severity: AlertView["severity"] = "warning"): AlertView => ({
  id, cause: "c", rule: "r", severity, status: "open", subject_kind: "unit", subject_id: "u1", tenant_id: null,
  message: `Unit u1 too hot (${id})`, details: {}, raised_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z", acked_at: null, acked_by: null, resolved_at: null, resolved_by: null,
});

beforeEach(() => {
  FakeSocket.all = [];
  auth.user = operator; // no one listens yet
});

describe("LiveProvider", () => {
  it("connects for the signed-in user, shows its state, feeds the cache and handlers, closes on sign-out", async () => {
    const seen: string[] = [];
    const { queryClient } = setup((id) => seen.push(id));
    expect(screen.getByText("Live updates: connecting")).toBeInTheDocument();
    await connect();
    expect(screen.getByText("Live updates: live")).toBeInTheDocument();
    expect(FakeSocket.last().sent).toEqual([{ action: "subscribe", channels: ["alerts", "workloads"] }]);

    queryClient.setQueryData<WorkloadList>(queryKeys.workloads(), { items: [], total: 0 });
    act(() => {
      FakeSocket.last().receive({
        id: "e1", channel: "workloads", event: "workload.state", ts: "2026-01-01T00:00:00Z",
        data: { id: "w9", name: "new", status: "submitted", previous_status: null, units: [] },
      });
    });
    expect(queryClient.getQueryData<WorkloadList>(queryKeys.workloads())!.items.map((w) => w.id)).toEqual(["w9"]);
    expect(seen).toEqual(["w9"]);

    const socket = FakeSocket.last();
    act(() => auth.set(null));
    expect(socket.closed).toEqual({ code: 1000, reason: "signed out" });
    expect(screen.getByText("Live updates: offline")).toBeInTheDocument();
  });

  it("a different user gets a new connection", async () => {
    setup();
    await connect();
    const first = FakeSocket.last();
    act(() => auth.set({ ...operator, id: "u2", email: "other@mara.com" }));
    expect(first.closed?.code).toBe(1000);
    expect(FakeSocket.all).toHaveLength(2);
  });
});

describe("alert notifications", () => {
  const raise = (a: AlertView, event = "alert.raised") =>
    act(() => {
      FakeSocket.last().receive({ id: `e-${event}-${a.id}`, channel: "alerts", event, ts: a.raised_at, data: a });
    });

  it("stacks at most 3, newest first, each with a link to the alert", async () => {
    setup();
    await connect();
    raise(alert("a1"));
    raise(alert("a2", "critical"));
    raise(alert("a1")); // replayed: not twice
    raise(alert("a3", "info"));
    raise(alert("a1"), "alert.acked"); // not a raise
    raise(alert("a4"));
    const region = screen.getByRole("region", { name: "Notifications" });
    const shown = within(region).getAllByRole("alert");
    expect(shown).toHaveLength(3);
    expect(shown.map((n) => n.textContent)).toEqual([
      expect.stringContaining("(a4)"), expect.stringContaining("(a3)"), expect.stringContaining("(a2)"),
    ]);
    expect(shown[2]).toHaveTextContent("Critical alert");
    expect(within(shown[0]!).getByRole("link", { name: "View alert" })).toHaveAttribute("href", "/app/alerts?id=a4");
  });

  it("is dismissed by keyboard: Escape, or the close button", async () => {
    const user = userEvent.setup();
    setup();
    await connect();
    raise(alert("a1"));
    raise(alert("a2"));
    const [newest] = screen.getAllByRole("alert");
    act(() => within(newest!).getByRole("link", { name: "View alert" }).focus());
    await user.keyboard("{Escape}");
    expect(screen.getAllByRole("alert")).toHaveLength(1);
    expect(screen.getByRole("alert")).toHaveTextContent("(a1)");
    act(() => screen.getByRole("button", { name: "Dismiss notification" }).focus());
    await user.keyboard("{Enter}");
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByRole("region", { name: "Notifications" })).toBeNull();
  });
});
