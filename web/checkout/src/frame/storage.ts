// The buyer's session token and remembered device, kept in the frame's own storage (Micropay's
// origin; never visible to the merchant's page). One slot per mode: a test-mode session is useless in
// live mode. The device id outlives sign-out so that the next sign-in is recognised as this browser.

export interface StoredSession {
  token: string;
  expires_at: number | string | null;
}

/** What this frame last wrote: the answer when the browser refuses storage to a frame embedded by
 * another site (blocked third-party storage). The sign-in then lasts as long as the frame. */
const memory = new Map<string, string>();

function read<T>(key: string): T | null {
  let raw: string | null | undefined;
  try {
    raw = localStorage.getItem(key);
  } catch {
    raw = undefined;
  }
  if (raw === undefined || (raw === null && memory.has(key))) raw = memory.get(key) ?? null;
  try {
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

function write(key: string, value: unknown): void {
  if (value === null) memory.delete(key);
  else memory.set(key, JSON.stringify(value));
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage unavailable: the copy in memory serves until the frame goes away.
  }
}

export function modeOf(publishableKey: string): 'live' | 'test' {
  return publishableKey.startsWith('pk_live_') ? 'live' : 'test';
}

function expired(session: StoredSession): boolean {
  if (session.expires_at === null || session.expires_at === undefined) return false;
  const at = typeof session.expires_at === 'number' ? session.expires_at * 1000 : Date.parse(session.expires_at);
  return Number.isFinite(at) && at <= Date.now();
}

export function createSessionStore(mode: 'live' | 'test') {
  const sessionKey = `micropay.${mode}.session`;
  const deviceKey = `micropay.${mode}.device`;
  return {
    session(): StoredSession | null {
      const session = read<StoredSession>(sessionKey);
      if (!session || typeof session.token !== 'string' || expired(session)) return null;
      return session;
    },
    saveSession(session: StoredSession | null): void {
      write(sessionKey, session);
    },
    device(): string | null {
      const device = read<string>(deviceKey);
      return typeof device === 'string' ? device : null;
    },
    saveDevice(device: string | null): void {
      write(deviceKey, device);
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
