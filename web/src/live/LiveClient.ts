// The one WebSocket of a tab (framework-free, so it can be tested with a fake WebSocket).
//
// Protocol (src/hcp/realtime/api.py): connect to `/ws?token=ACCESS`, send
// `{"action":"subscribe","channels":[...],"last_id"?}`; the server answers `subscribed`, replays
// what the channels had after `last_id` (or sends `reset` when it no longer holds it), then sends
// `{id, channel, event, ts, data}` per event and a `heartbeat` every 15 s. A bad or expired
// credential closes with 1008, a client too slow to read (or one too many) with 1013.
import type { Channel, ChannelEvent, Envelope, LiveStatus } from "./types";

/** What the client needs of a WebSocket (the browser's, or a fake in tests). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = new (url: string) => SocketLike;

export interface LiveClientOptions {
  /** The access token now (null: none held). */
  getToken: () => string | null;
  /** A fresh access token (single flight), null when signed out. */
  refreshToken: () => Promise<string | null>;
  /** The channels this user may subscribe to (`GET /api/v1/realtime/channels`, allowed ones). */
  fetchChannels: () => Promise<Channel[]>;
  /** The socket URL for a token; defaults to this page's origin `/ws?token=`. */
  url?: (token: string) => string;
  WebSocket?: SocketFactory;
  random?: () => number;
  isOnline?: () => boolean;
  /** Where to listen for `online`/`offline` (window in the browser). */
  events?: Pick<Window, "addEventListener" | "removeEventListener"> | null;
  /** A connection that lasted this long resets the backoff. */
  stableAfterMs?: number;
  /** No message (not even a heartbeat) for this long: the connection is dead, reconnect. */
  silenceMs?: number;
}

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 15_000;
export const CLOSE_NORMAL = 1000;
export const CLOSE_POLICY = 1008;
export const CLOSE_TRY_LATER = 1013;

/** The delay before reconnect attempt `attempt` (0-based): 0.5 s doubling to 15 s, with "equal
 * jitter" (half fixed, half random) so that tabs dropped together do not come back together. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  return Math.round(base / 2 + (base / 2) * random());
}

export function defaultSocketUrl(token: string): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws?token=${encodeURIComponent(token)}`;
}

type EventListener = (event: ChannelEvent) => void;
type ResetListener = (reason: string) => void;

const OPEN = 1;

export class LiveClient {
  private readonly opts: Required<Omit<LiveClientOptions, "events">> & { events: LiveClientOptions["events"] };
  private socket: SocketLike | null = null;
  private status: LiveStatus = "offline";
  private started = false;
  private attempt = 0;
  private policyRetried = false;
  private connectedOnce = false;
  private lastId: string | null = null;
  private channels: Channel[] | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private stableTimer: ReturnType<typeof setTimeout> | null = null;
  private silenceTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly statusListeners = new Set<() => void>();
  private readonly eventListeners = new Set<EventListener>();
  private readonly resetListeners = new Set<ResetListener>();
  private generation = 0; // bumps on every (re)connect and on stop: late callbacks of old sockets are ignored

  constructor(options: LiveClientOptions) {
    this.opts = {
      url: defaultSocketUrl,
      WebSocket: (globalThis as unknown as { WebSocket: SocketFactory }).WebSocket,
      random: Math.random,
      isOnline: () => (typeof navigator === "undefined" ? true : navigator.onLine !== false),
      stableAfterMs: 10_000,
      silenceMs: 45_000,
      ...options,
      events: options.events === undefined ? (typeof window === "undefined" ? null : window) : options.events,
    };
  }

  // --- public API --------------------------------------------------------------------------------
  getStatus = (): LiveStatus => this.status;

  /** For useSyncExternalStore. */
  subscribeStatus = (fn: () => void): (() => void) => {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  };

  /** Every channel event, in order. */
  onEvent(fn: EventListener): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  /** What was missed cannot be replayed: reload state over the API. */
  onReset(fn: ResetListener): () => void {
    this.resetListeners.add(fn);
    return () => this.resetListeners.delete(fn);
  }

  /** The id of the last event received (what a reconnect resumes after). */
  get lastEventId(): string | null {
    return this.lastId;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.opts.events?.addEventListener("online", this.handleOnline);
    this.opts.events?.addEventListener("offline", this.handleOffline);
    if (!this.opts.isOnline()) {
      this.setStatus("offline");
      return;
    }
    this.connect();
  }

  /** Close for good (sign-out, unmount): status offline, no reconnect. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.opts.events?.removeEventListener("online", this.handleOnline);
    this.opts.events?.removeEventListener("offline", this.handleOffline);
    this.teardown("signed out");
    this.setStatus("offline");
  }

  // --- connection --------------------------------------------------------------------------------
  private connect(): void {
    this.clearTimers();
    if (!this.started) return;
    const generation = ++this.generation;
    this.setStatus(this.connectedOnce ? "reconnecting" : "connecting");
    const token = this.opts.getToken();
    if (token === null) {
      // No access token held (expired and dropped, or never had one): try a refresh first.
      void this.opts.refreshToken().then(
        (fresh) => {
          if (generation !== this.generation) return;
          if (fresh === null) this.stop();
          else this.open(fresh, generation);
        },
        () => generation === this.generation && this.scheduleRetry(),
      );
      return;
    }
    this.open(token, generation);
  }

  private open(token: string, generation: number): void {
    let socket: SocketLike;
    try {
      socket = new this.opts.WebSocket(this.opts.url(token));
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (generation !== this.generation) return;
      void this.subscribe(socket, generation);
    };
    socket.onmessage = (ev: MessageEvent) => {
      if (generation !== this.generation) return;
      this.handleMessage(ev.data);
    };
    socket.onerror = () => {
      /* a close event follows */
    };
    socket.onclose = (ev: CloseEvent) => {
      if (generation !== this.generation) return;
      this.handleClose(ev.code);
    };
  }

  private async subscribe(socket: SocketLike, generation: number): Promise<void> {
    let channels: Channel[];
    try {
      channels = this.channels ?? (await this.opts.fetchChannels());
    } catch {
      if (generation !== this.generation) return;
      // Could not learn the channels: drop this socket and try again later.
      this.teardown("no channels");
      this.scheduleRetry();
      return;
    }
    if (generation !== this.generation || socket.readyState !== OPEN) return;
    this.channels = channels;
    const message: { action: "subscribe"; channels: Channel[]; last_id?: string } = { action: "subscribe", channels };
    if (this.lastId !== null) message.last_id = this.lastId;
    socket.send(JSON.stringify(message));
    this.armSilence();
  }

  private handleMessage(raw: unknown): void {
    if (typeof raw !== "string") return;
    let message: Envelope;
    try {
      message = JSON.parse(raw) as Envelope;
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null || typeof message.event !== "string") return;
    this.armSilence();
    if (message.id === null || message.channel === null) {
      this.handleControl(message);
      return;
    }
    this.lastId = message.id;
    for (const fn of [...this.eventListeners]) {
      try {
        fn(message as unknown as ChannelEvent);
      } catch (err) {
        console.error("live event handler failed", err);
      }
    }
  }

  private handleControl(message: Envelope): void {
    switch (message.event) {
      case "subscribed": {
        const resumed = this.lastId !== null;
        const wasReconnect = this.connectedOnce;
        this.connectedOnce = true;
        this.setStatus("live");
        this.stableTimer = setTimeout(() => {
          this.attempt = 0;
          this.policyRetried = false;
        }, this.opts.stableAfterMs);
        // Back after a gap without an event id to resume from: whatever happened meanwhile is lost.
        if (wasReconnect && !resumed) this.emitReset("reconnected without an event to resume after");
        break;
      }
      case "reset": {
        const data = message.data as { reason?: string } | null;
        this.emitReset(data?.reason ?? "cannot replay");
        break;
      }
      case "error":
        console.warn("live updates: the server refused a message", message.data);
        break;
      default: // heartbeat, pong, unsubscribed: nothing to do
        break;
    }
  }

  private emitReset(reason: string): void {
    for (const fn of [...this.resetListeners]) {
      try {
        fn(reason);
      } catch (err) {
        console.error("live reset handler failed", err);
      }
    }
  }

  private handleClose(code: number): void {
    this.socket = null;
    this.clearTimers();
    if (!this.started) return;
    if (!this.opts.isOnline()) {
      this.setStatus("offline");
      return;
    }
    if (code === CLOSE_POLICY) {
      this.setStatus("reconnecting");
      this.channels = null; // the credential changed: ask again what it may see
      const generation = ++this.generation;
      void this.opts.refreshToken().then(
        (fresh) => {
          if (generation !== this.generation || !this.started) return;
          if (fresh === null) {
            this.stop(); // signed out
          } else if (!this.policyRetried) {
            this.policyRetried = true; // at once, once; refused again right after: back off
            this.open(fresh, ++this.generation);
          } else {
            this.scheduleRetry();
          }
        },
        () => generation === this.generation && this.scheduleRetry(),
      );
      return;
    }
    if (code === CLOSE_TRY_LATER) this.attempt = Math.max(this.attempt, 2); // at least ~2 s: the server is busy
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.clearTimers();
    if (!this.started) return;
    this.setStatus(this.opts.isOnline() ? "reconnecting" : "offline");
    if (!this.opts.isOnline()) return;
    const delay = backoffDelay(this.attempt, this.opts.random);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private armSilence(): void {
    if (this.silenceTimer !== null) clearTimeout(this.silenceTimer);
    const generation = this.generation;
    this.silenceTimer = setTimeout(() => {
      if (generation !== this.generation) return;
      this.teardown("silent");
      this.scheduleRetry();
    }, this.opts.silenceMs);
  }

  /** Drop the socket without reacting to its close. */
  private teardown(reason: string): void {
    this.generation += 1;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      socket.onopen = socket.onmessage = socket.onerror = null;
      socket.onclose = null;
      try {
        socket.close(CLOSE_NORMAL, reason);
      } catch {
        /* already closed */
      }
    }
  }

  private clearTimers(): void {
    for (const t of [this.retryTimer, this.stableTimer, this.silenceTimer]) if (t !== null) clearTimeout(t);
    this.retryTimer = this.stableTimer = this.silenceTimer = null;
  }

  private readonly handleOnline = (): void => {
    if (!this.started) return;
    this.attempt = 0;
    this.teardown("online again");
    this.connect();
  };

  private readonly handleOffline = (): void => {
    if (!this.started) return;
    this.teardown("offline");
    this.setStatus("offline");
  };

  private setStatus(status: LiveStatus): void {
    if (status === this.status) return;
    this.status = status;
    for (const fn of [...this.statusListeners]) fn();
  }
}
