import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffDelay, LiveClient, type LiveClientOptions } from "./LiveClient";
import { FakeSocket, flush } from "./testing";
import type { Channel, ChannelEvent, LiveStatus } from "./types";

function workloadEvent(id: string): ChannelEvent {
  return {
    id, channel: "workloads", event: "workload.state", ts: "2026-01-01T00:00:00Z",
    data: { id: "w1" } as never,
  } as ChannelEvent;
}

function make(overrides: Partial<LiveClientOptions> = {}) {
  let token = "tok-1";
  const listeners: Record<string, () => void> = {};
  const opts = {
    getToken: vi.fn(() => token),
    refreshToken: vi.fn(async () => {
      token = "tok-2";
      return token;
    }),
    fetchChannels: vi.fn(async (): Promise<Channel[]> => ["workloads", "alerts", "billing"]),
    url: (t: string) => `ws://test/ws?token=${t}`,
    WebSocket: FakeSocket,
    random: () => 1, // no jitter: the delays are the base sequence
    isOnline: () => true,
    events: {
      addEventListener: (type: string, fn: () => void) => { listeners[type] = fn; },
      removeEventListener: (type: string) => { delete listeners[type]; },
    } as unknown as LiveClientOptions["events"],
    ...overrides,
  };
  const client = new LiveClient(opts);
  const statuses: LiveStatus[] = [];
  client.subscribeStatus(() => statuses.push(client.getStatus()));
  return { client, opts, statuses, listeners, setToken: (t: string) => { token = t; } };
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1]!;

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("backoffDelay", () => {
  it("doubles from 0.5 s to 15 s, with jitter in the upper half", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 9].map((a) => backoffDelay(a, () => 1))).toEqual(
      [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(5, () => 0)).toBe(7500);
  });
});

describe("LiveClient", () => {
  it("connects with the token and subscribes to the allowed channels only", async () => {
    const { client, opts, statuses } = make();
    client.start();
    expect(last().url).toBe("ws://test/ws?token=tok-1");
    expect(client.getStatus()).toBe("connecting");
    last().open();
    await flush();
    expect(opts.fetchChannels).toHaveBeenCalledTimes(1);
    expect(last().sent).toEqual([{ action: "subscribe", channels: ["workloads", "alerts", "billing"] }]);
    last().subscribed(["alerts", "billing", "workloads"]);
    expect(client.getStatus()).toBe("live");
    expect(statuses).toEqual(["connecting", "live"]);
    client.stop();
  });

  it("delivers channel events, keeps the last id and ignores heartbeats and pongs", async () => {
    const { client } = make();
    const got: ChannelEvent[] = [];
    client.onEvent((e) => got.push(e));
    client.start();
    last().open();
    await flush();
    last().subscribed();
    last().receive(workloadEvent("e-1"));
    last().receive({ id: null, channel: null, event: "heartbeat", ts: "2026-01-01T00:00:00Z", data: {} });
    last().receive({ id: null, channel: null, event: "pong", ts: "2026-01-01T00:00:00Z", data: {} });
    last().receive(workloadEvent("e-2"));
    expect(got.map((e) => e.id)).toEqual(["e-1", "e-2"]);
    expect(client.lastEventId).toBe("e-2");
    client.stop();
  });

  it("reconnects with exponential backoff and resumes after the last event id", async () => {
    const { client, statuses } = make();
    client.start();
    last().open();
    await flush();
    last().subscribed();
    last().receive(workloadEvent("e-7"));
    // the connection drops, and each try fails
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const before = FakeSocket.all.length;
      last().drop(1006);
      let waited = 0;
      while (FakeSocket.all.length === before) {
        await vi.advanceTimersByTimeAsync(50);
        waited += 50;
        if (waited > 60_000) throw new Error("no reconnect");
      }
      delays.push(waited);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000]);
    expect(client.getStatus()).toBe("reconnecting");
    expect(statuses).toEqual(["connecting", "live", "reconnecting"]);
    // the next one works: it resumes after e-7
    last().open();
    await flush();
    expect(last().sent).toEqual([{ action: "subscribe", channels: ["workloads", "alerts", "billing"], last_id: "e-7" }]);
    last().subscribed();
    expect(client.getStatus()).toBe("live");
    // stable for a while: the backoff starts over
    await vi.advanceTimersByTimeAsync(10_000);
    const before = FakeSocket.all.length;
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(499);
    expect(FakeSocket.all.length).toBe(before);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all.length).toBe(before + 1);
    client.stop();
  });

  it("a drop soon after connecting keeps backing off", async () => {
    const { client } = make();
    client.start();
    last().drop(1006); // 500
    await vi.advanceTimersByTimeAsync(500);
    last().open();
    await flush();
    last().subscribed();
    await vi.advanceTimersByTimeAsync(2000); // not stable yet
    const before = FakeSocket.all.length;
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeSocket.all.length).toBe(before);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all.length).toBe(before + 1);
    client.stop();
  });

  it("on 1008 refreshes the token and reconnects at once with the new one", async () => {
    const { client, opts } = make();
    client.start();
    last().open();
    await flush();
    last().subscribed();
    last().drop(1008);
    await flush();
    expect(opts.refreshToken).toHaveBeenCalledTimes(1);
    expect(FakeSocket.all).toHaveLength(2);
    expect(last().url).toBe("ws://test/ws?token=tok-2");
    last().open();
    await flush();
    expect(opts.fetchChannels).toHaveBeenCalledTimes(2); // the credential changed: asked again
    last().subscribed();
    expect(client.getStatus()).toBe("live");
    // refused again at once: now it backs off rather than loop
    last().drop(1008);
    await flush();
    expect(opts.refreshToken).toHaveBeenCalledTimes(2);
    expect(FakeSocket.all).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.all).toHaveLength(3);
    client.stop();
  });

  it("on 1008 when the session is gone, stops: offline, no reconnect", async () => {
    const { client } = make({ refreshToken: vi.fn(async () => null) });
    client.start();
    last().open();
    await flush();
    last().subscribed();
    last().drop(1008);
    await flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(client.getStatus()).toBe("offline");
  });

  it("on 1013 backs off at least 2 s", async () => {
    const { client } = make();
    client.start();
    last().open();
    await flush();
    last().subscribed();
    last().drop(1013);
    await vi.advanceTimersByTimeAsync(1999);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(2);
    client.stop();
  });

  it("reports a reset frame, and a reconnect with nothing to resume from", async () => {
    const { client } = make();
    const resets: string[] = [];
    client.onReset((r) => resets.push(r));
    client.start();
    last().open();
    await flush();
    last().subscribed();
    expect(resets).toEqual([]); // the first connection loads everything anyway
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(500);
    last().open();
    await flush();
    expect(last().sent).toEqual([{ action: "subscribe", channels: ["workloads", "alerts", "billing"] }]);
    last().subscribed();
    expect(resets).toHaveLength(1);
    last().receive(workloadEvent("e-1"));
    last().drop(1006);
    await vi.advanceTimersByTimeAsync(500);
    last().open();
    await flush();
    last().subscribed();
    expect(resets).toHaveLength(1); // resumed after e-1
    last().receive({ id: null, channel: null, event: "reset", ts: "2026-01-01T00:00:00Z",
      data: { last_id: "e-1", reason: "that event is no longer held" } });
    expect(resets).toEqual(["reconnected without an event to resume after", "that event is no longer held"]);
    client.stop();
  });

  it("closes cleanly on stop and never reconnects", async () => {
    const { client } = make();
    client.start();
    last().open();
    await flush();
    last().subscribed();
    const socket = last();
    client.stop();
    expect(socket.closed).toEqual({ code: 1000, reason: "signed out" });
    expect(client.getStatus()).toBe("offline");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("is offline while the browser is, and connects again when it is back", async () => {
    let online = false;
    const { client, listeners } = make({ isOnline: () => online });
    client.start();
    expect(client.getStatus()).toBe("offline");
    expect(FakeSocket.all).toHaveLength(0);
    online = true;
    listeners.online!();
    expect(FakeSocket.all).toHaveLength(1);
    expect(client.getStatus()).toBe("connecting");
    last().open();
    await flush();
    last().subscribed();
    online = false;
    listeners.offline!();
    expect(client.getStatus()).toBe("offline");
    expect(last().closed?.code).toBe(1000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    client.stop();
  });

  it("reconnects when the server goes silent (no heartbeat)", async () => {
    const { client } = make({ silenceMs: 45_000 });
    client.start();
    last().open();
    await flush();
    last().subscribed();
    await vi.advanceTimersByTimeAsync(30_000);
    last().receive({ id: null, channel: null, event: "heartbeat", ts: "2026-01-01T00:00:00Z", data: {} });
    await vi.advanceTimersByTimeAsync(44_000);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(FakeSocket.all[0]!.closed).not.toBeNull();
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.all).toHaveLength(2);
    client.stop();
  });

  it("without an access token refreshes first", async () => {
    const { client, setToken, opts } = make();
    setToken(null as unknown as string);
    client.start();
    await flush();
    expect(opts.refreshToken).toHaveBeenCalledTimes(1);
    expect(last().url).toBe("ws://test/ws?token=tok-2");
    client.stop();
  });
});
