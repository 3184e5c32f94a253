// Types of the openrum-agent package (docs/agent.md, "npm"): the same agent as the snippet, for
// apps that bundle their code. Nothing runs until `init`.

/** The options of `init`: those of the snippet's `data-*` attributes, in camelCase. */
export interface Options {
  /** The application id (required: without it the agent stays off). */
  app: string;
  /** Where beacons go (default `/api/v1/beacon`). */
  endpoint?: string;
  /** The release (version) of the site, to compare releases. */
  release?: string;
  /** Percentage of sessions measured, decided once when a session starts (default 100). */
  sample?: number | string;
  /** Opt-in: nothing is stored or sent until `consent(true)`. */
  optin?: boolean;
  /** What a browser sending Do Not Track or Global Privacy Control gets (default `anonymous`). */
  dnt?: "off" | "ignore" | "anonymous";
  /** Keep query strings in the URLs sent. */
  query?: boolean;
  /** Which URL fragments are routes: `true` every one, `false` none; hash routers' by default. */
  hash?: boolean;
  /** A persistent random visitor id, and the session shared by the tabs of a site. */
  trackUsers?: boolean;
  /** A rage click: at least this many clicks (default 3) … */
  rageClicks?: number;
  /** … each within this many ms (default 1000) … */
  rageMs?: number;
  /** … and this many CSS pixels of the latest one (default 30). */
  ragePx?: number;
  /** Distinct errors per beacon (default 10). */
  maxErrors?: number;
  /** Origins besides the page's own whose requests get a W3C `traceparent` header. */
  trace?: string[] | string;
  /** Change a beacon (the protocol v1 object) before it is sent, or return null to drop it. */
  beforeSend?: (beacon: Record<string, unknown>) => Record<string, unknown> | null;
}

/** Start the agent (once a page; in the browser, not during server-side rendering). */
export function init(options: Options): void;
/** Tag the session with a user name or id (ignored under Do Not Track). */
export function identify(tag: string): void;
/** A custom action that ends now and lasted `duration` ms (0, the default: a moment). */
export function addAction(name: string, duration?: number): void;
/** A `custom` error with the error's name and parsed stack. */
export function reportError(error: unknown, message?: string): void;
/** Start a custom action; returns its id for `endAction` (undefined while the agent is off). */
export function startAction(name: string): string | undefined;
/** End a custom action: its duration is the time since `startAction`. */
export function endAction(id: string | undefined): void;
/** A `property` user event `name=value`. */
export function setProperty(name: string, value: unknown): void;
/** Send a `session_end`, then start a new session. */
export function endSession(): void;
/** Opt-in mode: `true` lets the agent store and send; `false` stops it and forgets what it stored. */
export function consent(on: boolean): void;
/** Send now. */
export function flush(): void;
