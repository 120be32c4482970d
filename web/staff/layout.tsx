// The shell of the dashboard and the console once a staff user is signed in: navigation (a menu button
// on a phone) and the page for the current path under the app's base. Sections the role lacks are
// hidden, and their pages answer that the role cannot see them.
import { useMemo, useState, type ReactNode } from 'react';
import type { Me } from './api.ts';
import { Link, NavContext, usePath, type Nav } from './ui.tsx';

export interface Section {
  path: string;
  label: string;
  /** The permission needed to see the page at all; null: every signed-in user (their own passkeys). */
  needs: string | null;
}

/** What a path under `base` names: its first part ('' on the app's home) and the decoded part after it. */
export function parsePath(path: string, base: string): { first: string; detail: string | null } {
  const rest = path.startsWith(base) ? path.slice(base.length).replace(/\/+$/, '') : '';
  const [, first = '', id] = rest.split('/');
  return { first, detail: id ? decodeURIComponent(id) : null };
}

/** A route's answer: the section it belongs to ('missing' for no such page) and the page. */
export interface Routed {
  section: string;
  page: ReactNode;
}

export const missingPage: Routed = { section: 'missing', page: <p>No such page.</p> };

export function StaffShell(props: { me: Me; app: 'dashboard' | 'console'; label: string; base: string; sections: Section[]; route: (path: string) => Routed }) {
  const [path, navigate] = usePath();
  const [menuOpen, setMenuOpen] = useState(false);
  const permissions = props.me.permissions;
  const nav: Nav = useMemo(() => ({ path, navigate, me: props.me, can: (permission: string) => permissions.includes(permission) }), [path, navigate, props.me, permissions]);
  const visible = props.sections.filter((section) => section.needs === null || permissions.includes(section.needs));
  const { section, page } = props.route(path);
  const allowed = section === 'missing' || visible.some((entry) => entry.path === section);
  return (
    <NavContext.Provider value={nav}>
      <div className="shell">
        <nav className={`side ${menuOpen ? 'open' : ''}`} aria-label={props.label}>
          <button type="button" className="menu" aria-expanded={menuOpen} aria-controls={`${props.app}-links`} onClick={() => setMenuOpen(!menuOpen)}>
            {menuOpen ? 'Close menu' : 'Menu'}
          </button>
          <ul id={`${props.app}-links`}>
            {visible.map((entry) => (
              <li key={entry.path}>
                <Link to={`${props.base}${entry.path}`} current={entry.path === section} testId={`nav${entry.path.replace('/', '-') || '-overview'}`} onNavigate={() => setMenuOpen(false)}>
                  {entry.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <main className="content" id="main">
          {allowed ? page : <p>Your role ({props.me.role}) cannot see this page.</p>}
        </main>
      </div>
    </NavContext.Provider>
  );
}
