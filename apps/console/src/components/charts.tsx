// Small dependency-free SVG charts: bars over time, and horizontal bars by
// label. Enough for a person to see a trend; the numbers are in the tables.

export interface Point {
  x: number;
  y: number;
}

export function TimeBars({ points, title, unit, width = 640, height = 160 }: { points: Point[]; title: string; unit: string; width?: number; height?: number }) {
  if (points.length === 0) return <p className="muted">{title}: no data yet.</p>;
  const minX = Math.min(...points.map((p) => p.x));
  const maxX = Math.max(...points.map((p) => p.x));
  const maxY = Math.max(1, ...points.map((p) => p.y));
  const span = Math.max(1, maxX - minX);
  const barWidth = Math.max(2, (width - 40) / Math.max(points.length, 1) - 1);
  return (
    <figure className="card">
      <figcaption>
        {title} <span className="muted">(max {maxY.toFixed(maxY < 10 ? 1 : 0)} {unit})</span>
      </figcaption>
      <svg width={width} height={height} role="img" aria-label={title}>
        <line x1={30} y1={height - 20} x2={width} y2={height - 20} stroke="#999" />
        {points.map((p) => {
          const h = ((height - 30) * p.y) / maxY;
          const x = 30 + ((width - 40) * (p.x - minX)) / span;
          return <rect key={p.x} x={x} y={height - 20 - h} width={barWidth} height={h} fill="#2f6db3" />;
        })}
        <text x={30} y={height - 5} fontSize={10}>
          {new Date(minX).toISOString().slice(11, 19)}
        </text>
        <text x={width - 60} y={height - 5} fontSize={10}>
          {new Date(maxX).toISOString().slice(11, 19)}
        </text>
      </svg>
    </figure>
  );
}

export function LabelBars({ rows, title, width = 640 }: { rows: { label: string; value: number }[]; title: string; width?: number }) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <figure className="card">
      <figcaption>{title}</figcaption>
      <svg width={width} height={rows.length * 22 + 6} role="img" aria-label={title}>
        {rows.map((r, i) => (
          <g key={r.label}>
            <text x={0} y={i * 22 + 15} fontSize={12}>
              {r.label}
            </text>
            <rect x={80} y={i * 22 + 4} width={((width - 140) * r.value) / max} height={14} fill="#2f6db3" />
            <text x={86 + ((width - 140) * r.value) / max} y={i * 22 + 15} fontSize={12}>
              {r.value}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}
