// Rules: the current version of every rule in evaluation order; one rule's editor (its source as
// text, mode, position, description) where a back-test over the recorded decisions must run on the
// text as it stands before it can be saved; and the rule's versions.
import { useState, type FormEvent } from 'react';
import { get, send, type Backtest, type List, type Rule } from '../api.ts';
import { Badge, dateOf, DetailHeader, Link, Loading, messageOf, NoPermission, percent, Status, useLoad, useNav } from '../ui.tsx';

export function RulesPage() {
  const { can } = useNav();
  const rules = useLoad(() => get<List<Rule>>('/v1/risk/rules'), []);
  const items = rules.data?.data ?? [];
  return (
    <>
      <h1>Rules</h1>
      <p className="small muted">
        Rules are evaluated in order of position. Live rules act, shadow rules are only recorded, disabled rules are skipped. Every save adds a version; none is ever deleted.
      </p>
      {can('rules:write') ? (
        <p>
          <Link to="/console/rules/new" testId="new-rule">
            New rule
          </Link>
        </p>
      ) : null}
      <Status error={rules.error} />
      <Loading loading={rules.loading} empty={items.length === 0} emptyText="No rules yet." />
      <ul className="rows" data-testid="rules">
        {items.map((rule) => (
          <li key={rule.id}>
            <Link to={`/console/rules/${encodeURIComponent(rule.id)}`} className="rowlink" testId={`rule-${rule.id}`}>
              <span className="what mono">{rule.id}</span>
              <span>
                <Badge status={rule.mode} /> <Badge status={rule.action} />
              </span>
              <span className="small mono">{rule.source}</span>
              <span className="small muted">
                v{rule.version} · position {rule.position}
              </span>
            </Link>
          </li>
        ))}
      </ul>
    </>
  );
}

function BacktestResult(props: { result: Backtest }) {
  const { result } = props;
  return (
    <section className="card" aria-labelledby="backtest-heading" data-testid="backtest">
      <h2 id="backtest-heading">Back-test</h2>
      <p>
        Would have matched <strong data-testid="backtest-matched">{result.matched.toLocaleString()}</strong> of {result.decisions.toLocaleString()} recorded decisions ({percent(result.match_rate)}), as <Badge status={result.action} />.
      </p>
      <dl className="details">
        <dt>Labelled fraud matched</dt>
        <dd>
          {result.fraud_matched} of {result.labelled_fraud} (recall {percent(result.recall)})
        </dd>
        <dt>Labelled good matched</dt>
        <dd>
          {result.good_matched} of {result.labelled_good} (false positives {percent(result.false_positive_rate)})
        </dd>
        <dt>Precision</dt>
        <dd>{percent(result.precision)}</dd>
        <dt>Matched, by what was decided then</dt>
        <dd>
          {Object.entries(result.matched_by_recorded_decision)
            .map(([verdict, count]) => `${verdict} ${count}`)
            .join(' · ')}
        </dd>
      </dl>
    </section>
  );
}

export function RuleEditPage(props: { id: string | null }) {
  const { can, navigate } = useNav();
  const creating = props.id === null;
  const versions = useLoad(() => (props.id ? get<List<Rule>>(`/v1/risk/rules/${encodeURIComponent(props.id)}/versions`) : Promise.resolve(null)), [props.id]);
  const current = versions.data?.data[0] ?? null;
  const [draft, setDraft] = useState<{ id: string; source: string; mode: Rule['mode']; position: string; description: string } | null>(null);
  const form = draft ?? {
    id: props.id ?? '',
    source: current?.source ?? '',
    mode: current?.mode ?? 'shadow',
    position: String(current?.position ?? 0),
    description: current?.description ?? '',
  };
  const [tested, setTested] = useState<{ source: string; result: Backtest } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const editable = can('rules:write');
  const testedNow = tested !== null && tested.source === form.source;

  const change = (patch: Partial<typeof form>) => {
    setDraft({ ...form, ...patch });
    setNotice(null);
  };

  async function backtest() {
    setBusy(true);
    setError(null);
    try {
      const result = await send<Backtest>('POST', '/v1/risk/rules/backtest', { source: form.source });
      setTested({ source: form.source, result });
    } catch (failure) {
      setTested(null);
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!testedNow) return;
    const position = Number(form.position);
    if (!Number.isInteger(position)) {
      setError('The position must be a whole number.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const saved = await send<Rule>('PUT', `/v1/risk/rules/${encodeURIComponent(form.id)}`, {
        source: form.source,
        mode: form.mode,
        position,
        description: form.description.trim() === '' ? null : form.description,
        // A new rule must not exist yet; an edit is based on the version read (409 if someone saved since).
        ...(current ? { expected_version: current.version } : {}),
      });
      setDraft(null);
      setTested(null);
      setNotice(`Saved ${saved.id} as version ${saved.version}.`);
      if (creating) navigate(`/console/rules/${encodeURIComponent(saved.id)}`);
      else versions.reload();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <DetailHeader back="/console/rules" backLabel="Rules" title={creating ? 'New rule' : <span className="mono">{props.id}</span>} error={versions.error ?? error} notice={notice} />
      <Loading loading={!creating && versions.loading && !versions.data} />
      {creating || versions.data ? (
        <form className="card" onSubmit={(event) => void save(event)} data-testid="rule-form">
          <fieldset disabled={!editable || busy}>
            <legend>{current ? `Version ${current.version} → ${current.version + 1}` : 'Version 1'}</legend>
            {creating ? (
              <>
                <label htmlFor="rule-id">Id (lower-case letters, digits and _)</label>
                <input id="rule-id" value={form.id} pattern="[a-z][a-z0-9_]{0,62}" required onChange={(event) => change({ id: event.target.value })} data-testid="rule-id" />
              </>
            ) : null}
            <label htmlFor="rule-source">Rule</label>
            <textarea
              id="rule-source"
              className="mono source"
              value={form.source}
              required
              maxLength={1000}
              spellCheck={false}
              aria-describedby="rule-source-help"
              onChange={(event) => change({ source: event.target.value })}
              data-testid="rule-source"
            />
            <p id="rule-source-help" className="small muted">
              For example <span className="mono">review if :amount_usd: &gt; 50_000 and :device_is_new:</span> (docs/risk-rules.md).
            </p>
            <div className="filters">
              <div>
                <label htmlFor="rule-mode">Mode</label>
                <select id="rule-mode" value={form.mode} onChange={(event) => change({ mode: event.target.value as Rule['mode'] })} data-testid="rule-mode">
                  <option value="live">live</option>
                  <option value="shadow">shadow</option>
                  <option value="disabled">disabled</option>
                </select>
              </div>
              <div>
                <label htmlFor="rule-position">Position</label>
                <input id="rule-position" inputMode="numeric" value={form.position} onChange={(event) => change({ position: event.target.value })} />
              </div>
            </div>
            <label htmlFor="rule-description">Description</label>
            <input id="rule-description" value={form.description} maxLength={500} onChange={(event) => change({ description: event.target.value })} />
            <div className="buttons">
              <button type="button" onClick={() => void backtest()} disabled={busy || form.source.trim() === ''} data-testid="run-backtest">
                Run back-test
              </button>
              <button type="submit" className="primary" disabled={busy || !testedNow} data-testid="save-rule">
                Save
              </button>
            </div>
            {!testedNow && editable ? <p className="small muted">Run the back-test on this text before saving.</p> : null}
          </fieldset>
          {!editable ? <NoPermission permission="rules:write" /> : null}
        </form>
      ) : null}
      {tested && testedNow ? <BacktestResult result={tested.result} /> : null}
      {versions.data ? (
        <section aria-labelledby="versions-heading">
          <h2 id="versions-heading">Versions</h2>
          <ul className="rows" data-testid="versions">
            {versions.data.data.map((version) => (
              <li key={version.version} className="row">
                <span className="what">
                  v{version.version} <Badge status={version.mode} />
                </span>
                <span className="small muted">{dateOf(version.created)}</span>
                <span className="small mono">{version.source}</span>
                <span className="small muted">position {version.position}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </>
  );
}
