// The audit log, one page shared by the dashboard and the console (docs/dashboard.md, docs/console.md):
// every change the team's staff made and every sign-in, in both modes (live ones badged), newest first
// (`GET /v1/staff/audit_events`, permission audit:read), filtered by person, "Load more" pages. Rows stack like every list of the apps,
// so the page fits 360 px.
import { useEffect, useState } from 'react';
import { roleName } from './staff-app.tsx';
import { Badge, dateOf, PagedRows, usePagedList } from './ui.tsx';

export interface StaffAuditEvent {
  id: string;
  object: 'staff_audit_event';
  livemode: boolean;
  user: { id: string; email: string };
  role: string;
  /** The route as `METHOD /pattern` (ids as :id), e.g. "POST /v1/refunds/:id/approve". */
  action: string;
  /** The path called, with its ids. */
  path: string;
  /** unknown: written ahead of the change, no answer recorded (still running, or the process stopped). */
  outcome: 'succeeded' | 'refused' | 'failed' | 'unknown';
  status: number | null;
  error_code: string | null;
  request_id: string;
  ip_address: string | null;
  created: number;
}

/** The people seen in the loaded events (id → email), kept when the list is filtered to one of them. */
function usePeopleSeen(events: StaffAuditEvent[]): Array<[string, string]> {
  const [people, setPeople] = useState<Record<string, string>>({});
  useEffect(() => {
    setPeople((known) => {
      const fresh = events.filter((event) => !(event.user.id in known));
      return fresh.length === 0 ? known : { ...known, ...Object.fromEntries(fresh.map((event) => [event.user.id, event.user.email])) };
    });
  }, [events]);
  return Object.entries(people).sort((a, b) => a[1].localeCompare(b[1]));
}

export function AuditLogPage() {
  const [user, setUser] = useState('');
  const list = usePagedList<StaffAuditEvent>('/v1/staff/audit_events', { user: user || undefined });
  const people = usePeopleSeen(list.items);
  return (
    <div className="audit">
      <h1>Audit log</h1>
      <p className="muted">Every change made by your team and every sign-in, newest first. Reading pages is not recorded.</p>
      <div className="filters card">
        <div>
          <label htmlFor="audit-user">Person</label>
          <select id="audit-user" value={user} onChange={(event) => setUser(event.target.value)}>
            <option value="">Everyone</option>
            {people.map(([id, email]) => (
              <option key={id} value={id}>
                {email}
              </option>
            ))}
          </select>
        </div>
      </div>
      <PagedRows list={list} testId="audit-events" emptyText="Nothing recorded yet.">
        {(event) => (
          <li key={event.id} className="row" data-testid={`audit-${event.id}`}>
            <span className="what mono" data-testid="audit-action">
              {event.action}
            </span>
            <span data-testid="audit-outcome">
              <Badge status={event.outcome} />
              {event.livemode ? (
                <>
                  {' '}
                  <Badge status="live" />
                </>
              ) : null}
              {event.outcome === 'succeeded' || event.status === null ? null : <span className="muted small audit-code">{`${event.status}${event.error_code ? ` ${event.error_code}` : ''}`}</span>}
            </span>
            <span className="small" data-testid="audit-person">
              {event.user.email} <span className="muted">· {roleName(event.role)}</span>
            </span>
            <span className="muted small">{dateOf(event.created)}</span>
            {/* The path called when it says more than the action (the ids in it). */}
            <span className="muted small mono">{event.action.endsWith(` ${event.path}`) ? null : event.path}</span>
            <span className="muted small">{event.ip_address ? `IP ${event.ip_address}` : 'IP unknown'}</span>
          </li>
        )}
      </PagedRows>
    </div>
  );
}
