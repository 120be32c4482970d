// Time-series charts for the dashboard and the console (recharts, SVG). Each chart carries a title
// and the same figures as a table in a <details>, so screen readers and people who would rather read
// get the numbers too.
import { useId, type ComponentProps } from 'react';
import { Area, AreaChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

export interface Series {
  /** The property of each point that holds this series' value. */
  key: string;
  label: string;
  color: string;
}

export type Point = { t: string } & Record<string, number | string>;

export interface TimeSeriesChartProps {
  title: string;
  data: Point[];
  series: Series[];
  /** How a value reads (money in the currency's format, a percentage...). */
  format?: (value: number) => string;
  kind?: 'line' | 'area';
  height?: number;
  /** The value axis' range, as recharts takes it (e.g. `[0, 1]` for a share). By default `[0, 'auto']`,
   * and `[0, 1]` with only the two ends marked when every value is 0 (recharts would otherwise mark 0 to 4,
   * which reads as 0–400% on a share). */
  domain?: AxisDomain;
}

type AxisDomain = NonNullable<ComponentProps<typeof YAxis>['domain']>;

const defaultFormat = (value: number): string => value.toLocaleString();

const autoDomain: AxisDomain = [0, 'auto'];
const zeroDomain: AxisDomain = [0, 1];

export function TimeSeriesChart({ title, data, series, format = defaultFormat, kind = 'line', height = 220, domain }: TimeSeriesChartProps) {
  const headingId = useId();
  const Chart = kind === 'area' ? AreaChart : LineChart;
  const allZero = data.every((point) => series.every((s) => Number(point[s.key] ?? 0) === 0));
  return (
    <figure className="mp-chart" aria-labelledby={headingId}>
      <figcaption id={headingId} className="mp-chart-title">
        {title}
      </figcaption>
      {data.length === 0 ? (
        <p className="mp-chart-empty">No data yet.</p>
      ) : (
        <div role="img" aria-label={`${title}: chart of ${series.map((s) => s.label).join(', ')} over ${data.length} points`} style={{ width: '100%', height }}>
          <ResponsiveContainer width="100%" height="100%">
            <Chart data={data} margin={{ top: 8, right: 12, bottom: 4, left: 4 }}>
              <CartesianGrid strokeDasharray="3 3" stroke="#d9dde3" />
              <XAxis dataKey="t" tick={{ fontSize: 12 }} minTickGap={16} />
              <YAxis
                tick={{ fontSize: 12 }}
                tickFormatter={(value: number) => format(value)}
                width={72}
                domain={domain ?? (allZero ? zeroDomain : autoDomain)}
                {...(allZero && !domain ? { tickCount: 2 } : {})}
              />
              <Tooltip formatter={(value) => format(Number(value))} />
              {series.length > 1 && <Legend />}
              {series.map((s) =>
                kind === 'area' ? (
                  <Area key={s.key} type="monotone" dataKey={s.key} name={s.label} stroke={s.color} fill={s.color} fillOpacity={0.15} isAnimationActive={false} />
                ) : (
                  <Line key={s.key} type="monotone" dataKey={s.key} name={s.label} stroke={s.color} dot={false} isAnimationActive={false} />
                ),
              )}
            </Chart>
          </ResponsiveContainer>
        </div>
      )}
      {data.length > 0 && (
        <details className="mp-chart-table">
          <summary>Show the figures</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">Date</th>
                {series.map((s) => (
                  <th key={s.key} scope="col">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {data.map((point) => (
                <tr key={point.t}>
                  <th scope="row">{point.t}</th>
                  {series.map((s) => (
                    <td key={s.key}>{format(Number(point[s.key] ?? 0))}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}
