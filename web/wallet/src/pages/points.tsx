// Points at each merchant (with the next expiry) and badges earned at any merchant.
import { useEffect, useState } from 'react';
import type { Badge, MerchantPoints, WalletApi } from '../api.ts';
import { dayOf, messageOf, Status } from '../ui.tsx';

export function Points(props: { api: WalletApi }) {
  const { api } = props;
  const [points, setPoints] = useState<MerchantPoints[] | null>(null);
  const [badges, setBadges] = useState<Badge[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [badgesError, setBadgesError] = useState<string | null>(null);
  useEffect(() => {
    api
      .merchantPoints()
      // Shops where the buyer holds no points (or that give none) are left out.
      .then((list) => setPoints(list.data.filter((one) => one.points.balance > 0 || one.points.upcoming_expiries.length > 0)))
      .catch((caught: unknown) => setError(messageOf(caught)));
    api
      .badges()
      .then((list) => setBadges(list.data))
      .catch((caught: unknown) => setBadgesError(messageOf(caught)));
  }, [api]);
  return (
    <section aria-labelledby="points-title">
      <h1 id="points-title">Points and badges</h1>
      <h2>Points</h2>
      {points === null ? (
        error ? null : (
          <p aria-busy="true">Loading…</p>
        )
      ) : points.length === 0 ? (
        <p data-testid="points-empty">No points yet. Shops with a loyalty program give points when you buy.</p>
      ) : (
        <ul className="entries" data-testid="points">
          {points.map((one) => {
            const next = one.points.upcoming_expiries[0];
            return (
              <li key={one.merchant.id} className="entry" data-testid={`points-${one.merchant.id}`}>
                <span className="what">{one.merchant.name}</span>
                <span className="amount">
                  {one.points.balance.toLocaleString()} {one.points.balance === 1 ? 'point' : 'points'}
                </span>
                <span className="merchant">{next ? `${next.points.toLocaleString()} expire on ${dayOf(next.expires_at)}` : 'None expiring soon'}</span>
              </li>
            );
          })}
        </ul>
      )}
      <Status error={error} />
      <section className="card" aria-labelledby="badges-title" data-testid="badges-panel">
        <h2 id="badges-title">Badges</h2>
        {badgesError ? (
          <p data-testid="badges-error">Badges cannot be shown right now ({badgesError}).</p>
        ) : badges === null ? (
          <p aria-busy="true">Loading…</p>
        ) : badges.length === 0 ? (
          <p data-testid="badges-empty">No badges yet: your first purchase at a shop earns one.</p>
        ) : (
          <ul className="badges" data-testid="badges">
            {badges.map((badge) => (
              <li key={badge.id} className={badge.revoked_at ? 'badge revoked' : 'badge'} data-testid={`badge-${badge.code}`}>
                <strong>{badge.name}</strong>
                <span className="label">
                  {badge.merchant?.name ?? 'Micropay'} · {dayOf(badge.earned_at)}
                  {badge.revoked_at ? ' · withdrawn (refunded)' : ''}
                </span>
                <span className="label">{badge.description}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </section>
  );
}
