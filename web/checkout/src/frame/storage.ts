// The buyer's session token and remembered device, kept in the frame's own storage (Micropay's
// origin; never visible to the merchant's page). One slot per mode: a test-mode session is useless in
// live mode. The device id outlives sign-out so that the next sign-in is recognised as this browser.

export interface StoredSession {
  token: string;
  expires_at: number | string | null;
}

function read<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

function write(key: string, value: unknown): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage can be unavailable (blocked third-party storage); the buyer then signs in each time.
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
