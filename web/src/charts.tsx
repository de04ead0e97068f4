// Two small charts in plain SVG (no chart library: a bar and a funnel are a few rectangles): horizontal bars
// and a conversion funnel. Each is an image with a text summary, and the same numbers in a table for screen
// readers, so the figures never live only in pixels.
export interface Datum {
  label: string;
  value: number;
  /** The value as shown (money, a percentage); the number itself when absent. */
  shown?: string;
}

const ROW = 28;
const LABEL_W = 150;
const BAR_W = 330;
const VALUE_W = 120;
const COLOURS = ["#0b5cab", "#2b7a0b", "#8a5a00", "#6b4f9e", "#0b7285", "#a8431d", "#b02a37", "#343a40"];

export function barWidths(data: Datum[], width: number): number[] {
  const max = Math.max(0, ...data.map((d) => d.value));
  return data.map((d) => (max > 0 && d.value > 0 ? Math.max(2, (d.value / max) * width) : 0));
}

function truncate(text: string, max = 22): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function DataTable({ caption, data, head }: { caption: string; data: Datum[]; head: [string, string] }) {
  return (
    <table className="sr-only">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{head[0]}</th>
          <th scope="col">{head[1]}</th>
        </tr>
      </thead>
      <tbody>
        {data.map((d, i) => (
          <tr key={`${d.label}-${i}`}>
            <th scope="row">{d.label}</th>
            <td>{d.shown ?? d.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function BarChart({ title, data, head, empty }: { title: string; data: Datum[]; head: [string, string]; empty: string }) {
  if (!data.length) return <p className="muted">{empty}</p>;
  const widths = barWidths(data, BAR_W);
  const height = data.length * ROW + 8;
  const summary = `${title}: ${data.map((d) => `${d.label} ${d.shown ?? d.value}`).join("; ")}`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${LABEL_W + BAR_W + VALUE_W} ${height}`} width="100%" role="img" aria-label={summary} data-chart="bar">
        {data.map((d, i) => (
          <g key={`${d.label}-${i}`} transform={`translate(0 ${i * ROW + 4})`}>
            <text x={LABEL_W - 8} y={ROW / 2 + 1} textAnchor="end" dominantBaseline="middle" fontSize="13" fill="#1c2330">
              {truncate(d.label)}
            </text>
            <rect x={LABEL_W} y={4} width={widths[i]} height={ROW - 10} rx={3} fill={COLOURS[i % COLOURS.length]} />
            <text x={LABEL_W + widths[i]! + 6} y={ROW / 2 + 1} dominantBaseline="middle" fontSize="13" fill="#1c2330">
              {d.shown ?? d.value}
            </text>
          </g>
        ))}
      </svg>
      <DataTable caption={title} data={data} head={head} />
    </figure>
  );
}

/** Steps of a funnel, each as wide as its share of the first, centred, with the count and the rate. */
export function FunnelChart({ title, steps, head }: { title: string; steps: Datum[]; head: [string, string] }) {
  const width = 480;
  const first = steps[0]?.value ?? 0;
  const height = steps.length * 40 + 4;
  const summary = `${title}: ${steps.map((d) => `${d.label} ${d.shown ?? d.value}`).join("; ")}`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width + 260} ${height}`} width="100%" role="img" aria-label={summary} data-chart="funnel">
        {steps.map((d, i) => {
          const w = first > 0 ? Math.max(4, (d.value / first) * width) : 4;
          return (
            <g key={d.label} transform={`translate(0 ${i * 40 + 2})`}>
              <rect x={(width - w) / 2} y={0} width={w} height={34} rx={4} fill={COLOURS[i % COLOURS.length]} />
              <text x={width + 16} y={18} dominantBaseline="middle" fontSize="14" fill="#1c2330">
                {d.label}: {d.shown ?? d.value}
              </text>
            </g>
          );
        })}
      </svg>
      <DataTable caption={title} data={steps} head={head} />
    </figure>
  );
}
