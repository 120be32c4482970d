// Small pieces every page of the dashboard and the console shares: path routing, links, loading state,
// status messages, amounts in the currency's format, and lists with "Load more" (cursor pagination).
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { formatAmount } from '../checkout/src/frame/format.ts';
import { get, type List, type Me } from './api.ts';
import { Status } from '../shared/status.tsx';

export interface Nav {
  path: string;
  navigate: (to: string) => void;
  me: Me;
  can: (permission: string) => boolean;
}

export const NavContext = createContext<Nav | null>(null);

export function useNav(): Nav {
  const nav = useContext(NavContext);
  if (!nav) throw new Error('useNav outside a staff app (dashboard or console)');
  return nav;
}

export function usePath(): [string, (to: string) => void] {
  const [path, setPath] = useState(() => location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to: string) => {
    history.pushState(null, '', to);
    setPath(to);
    scrollTo(0, 0);
  }, []);
  return [path, navigate];
}

export function Link(props: { to: string; children: ReactNode; current?: boolean; testId?: string; className?: string; onNavigate?: () => void }) {
  const { navigate } = useNav();
  return (
    <a
      href={props.to}
      className={props.className}
      aria-current={props.current ? 'page' : undefined}
      data-testid={props.testId}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        props.onNavigate?.();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : 'Something went wrong.');
export const dateOf = (seconds: number | null | undefined): string => (seconds ? new Date(seconds * 1000).toLocaleString() : '—');
export const percent = (share: number | null | undefined): string => (share === null || share === undefined ? '—' : `${(share * 100).toFixed(1)}%`);

export function Money(props: { amount: number | string; currency: string }) {
  return <span className="money">{formatAmount(props.amount, props.currency)}</span>;
}

export function Badge(props: { status: string }) {
  return <span className={`badge badge-${props.status.replace(/[^a-z_]/g, '')}`}>{props.status.replaceAll('_', ' ')}</span>;
}

export { Status };

/** Loads once per `deps`; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: string | null; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((previous) => ({ ...previous, loading: true, error: null }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error: unknown) => live && setState({ data: null, error: messageOf(error), loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  return { ...state, reload: () => setRound((value) => value + 1) };
}

/** A cursor-paginated list: the first page, then "Load more" appends the next. */
export function usePagedList<T extends { id: string }>(path: string, params: Record<string, string | undefined>, pageSize = 20) {
  const key = JSON.stringify([path, params]);
  const [items, setItems] = useState<T[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    get<List<T>>(path, { ...params, limit: pageSize }).then(
      (page) => {
        if (!live) return;
        setItems(page.data);
        setHasMore(page.has_more);
        setLoading(false);
      },
      (failure: unknown) => {
        if (!live) return;
        setError(messageOf(failure));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, round]);
  const more = async () => {
    const last = items[items.length - 1];
    if (!last) return;
    setLoading(true);
    try {
      const page = await get<List<T>>(path, { ...params, limit: pageSize, starting_after: last.id });
      setItems((previous) => [...previous, ...page.data]);
      setHasMore(page.has_more);
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setLoading(false);
    }
  };
  return { items, hasMore, error, loading, more, reload: () => setRound((value) => value + 1) };
}

export function MoreButton(props: { hasMore: boolean; loading: boolean; onMore: () => void }) {
  if (!props.hasMore) return null;
  return (
    <button type="button" onClick={props.onMore} disabled={props.loading}>
      {props.loading ? 'Loading…' : 'Load more'}
    </button>
  );
}

export function Loading(props: { loading: boolean; empty?: boolean; emptyText?: string }) {
  if (props.loading) return <p className="muted" aria-live="polite">Loading…</p>;
  if (props.empty) return <p className="muted">{props.emptyText ?? 'Nothing here yet.'}</p>;
  return null;
}

/** Shown instead of an action the signed-in role may not take. */
export function NoPermission(props: { permission: string }) {
  return <p className="muted" data-testid="no-permission">Your role cannot do this (needs {props.permission}).</p>;
}

/** A user action's state: `run` marks it busy and clears the error, and shows the error it throws.
 * Checks that fail before anything is sent call `setError` themselves. */
export function useAction() {
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  }, []);
  return { error, setError, notice, setNotice, busy, run };
}

/** A choice of one status among `statuses` ("Any" for none), underscores read as spaces. */
export function StatusSelect(props: { id: string; value: string; onChange: (value: string) => void; statuses: string[] }) {
  return (
    <div>
      <label htmlFor={props.id}>Status</label>
      <select id={props.id} value={props.value} onChange={(event) => props.onChange(event.target.value)}>
        <option value="">Any</option>
        {props.statuses.map((value) => (
          <option key={value} value={value}>
            {value.replaceAll('_', ' ')}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A list's filter card with only the status to choose. */
export function StatusFilter(props: { id: string; value: string; onChange: (value: string) => void; statuses: string[] }) {
  return (
    <div className="filters card">
      <StatusSelect {...props} />
    </div>
  );
}

export type PagedList<T> = ReturnType<typeof usePagedList<T & { id: string }>>;

/** A paged list's rows: its error (or `error`), loading and empty states, the rows and "Load more". */
export function PagedRows<T extends { id: string }>(props: { list: PagedList<T>; testId: string; emptyText: string; error?: string | null; notice?: string | null; children: (item: T) => ReactNode }) {
  const { list } = props;
  return (
    <>
      <Status error={list.error ?? props.error} notice={props.notice} />
      <Loading loading={list.loading && list.items.length === 0} empty={!list.loading && list.items.length === 0} emptyText={props.emptyText} />
      <ul className="rows" data-testid={props.testId}>
        {list.items.map(props.children)}
      </ul>
      <MoreButton hasMore={list.hasMore} loading={list.loading} onMore={list.more} />
    </>
  );
}

/** The top of an object's page: the way back to its list, the title and the error loading it (or acting on it). */
export function DetailHeader(props: { back: string; backLabel: string; title: ReactNode; error?: string | null; notice?: string | null }) {
  return (
    <>
      <p>
        <Link to={props.back}>{`← ${props.backLabel}`}</Link>
      </p>
      <h1>{props.title}</h1>
      <Status error={props.error} notice={props.notice} />
    </>
  );
}

/** An object's amount and status, the first lines of its details (inside a <dl className="details">). */
export function AmountAndStatus(props: { amount: number; currency: string; status: string; statusTestId?: string }) {
  return (
    <>
      <dt>Amount</dt>
      <dd className="amount">
        <Money amount={props.amount} currency={props.currency} />
      </dd>
      <dt>Status</dt>
      <dd data-testid={props.statusTestId}>
        <Badge status={props.status} />
      </dd>
    </>
  );
}

/** The end of a form laid out as `filters`: its submit button, then its error and notice across the form. */
export function SubmitRow(props: { busy: boolean; children: ReactNode; testId?: string; error?: string | null; notice?: string | null }) {
  return (
    <>
      <div className="actions">
        <button type="submit" disabled={props.busy} data-testid={props.testId}>
          {props.children}
        </button>
      </div>
      <div className="wide">
        <Status error={props.error} notice={props.notice} />
      </div>
    </>
  );
}
