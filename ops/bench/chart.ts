// The throughput/latency chart as a hand-written SVG: writes/s on x against
// p50 and p99 latency on y, both axes logarithmic (the two systems differ by
// orders of magnitude), one line per system and percentile, each point
// labelled with its client count.

export interface ChartSeries {
  label: string;
  color: string;
  dashed: boolean;
  points: { x: number; y: number; tag: string }[];
}

const width = 820;
const height = 520;
const margin = { left: 70, right: 190, top: 50, bottom: 60 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Decades covering [min, max], widened to at least one decade. */
function decades(values: number[]): { lo: number; hi: number } {
  const finite = values.filter((v) => Number.isFinite(v) && v > 0);
  if (finite.length === 0) return { lo: 0, hi: 1 };
  const lo = Math.floor(Math.log10(Math.min(...finite)));
  const hi = Math.ceil(Math.log10(Math.max(...finite)));
  return { lo, hi: hi > lo ? hi : lo + 1 };
}

const tickLabel = (exp: number) => {
  const v = 10 ** exp;
  return v >= 1 ? v.toLocaleString('en-US') : String(Number(v.toPrecision(1)));
};

export function renderChart(title: string, subtitle: string, series: ChartSeries[]): string {
  const xs = decades(series.flatMap((s) => s.points.map((p) => p.x)));
  const ys = decades(series.flatMap((s) => s.points.map((p) => p.y)));
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const px = (x: number) => margin.left + ((Math.log10(x) - xs.lo) / (xs.hi - xs.lo)) * plotW;
  const py = (y: number) => margin.top + plotH - ((Math.log10(y) - ys.lo) / (ys.hi - ys.lo)) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${margin.left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(`<text x="${margin.left}" y="40" fill="#555">${escapeXml(subtitle)}</text>`);
  // Grid and ticks: every decade labelled, 2..9 as faint lines.
  for (let e = xs.lo; e <= xs.hi; e++) {
    for (let m = 1; m < 10 && (m === 1 || e < xs.hi); m++) {
      const x = px(m * 10 ** e);
      out.push(`<line x1="${x.toFixed(1)}" y1="${margin.top}" x2="${x.toFixed(1)}" y2="${margin.top + plotH}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`);
    }
    out.push(`<text x="${px(10 ** e).toFixed(1)}" y="${margin.top + plotH + 18}" text-anchor="middle">${tickLabel(e)}</text>`);
  }
  for (let e = ys.lo; e <= ys.hi; e++) {
    for (let m = 1; m < 10 && (m === 1 || e < ys.hi); m++) {
      const y = py(m * 10 ** e);
      out.push(`<line x1="${margin.left}" y1="${y.toFixed(1)}" x2="${margin.left + plotW}" y2="${y.toFixed(1)}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`);
    }
    out.push(`<text x="${margin.left - 8}" y="${(py(10 ** e) + 4).toFixed(1)}" text-anchor="end">${tickLabel(e)}</text>`);
  }
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${margin.left + plotW / 2}" y="${height - 18}" text-anchor="middle">committed writes per second (log scale)</text>`);
  out.push(`<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency, ms (log scale)</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.x > 0 && p.y > 0);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4" fill="${s.dashed ? 'white' : s.color}" stroke="${s.color}" stroke-width="2"/>`);
      out.push(`<text x="${(px(p.x) + 6).toFixed(1)}" y="${(py(p.y) - 6).toFixed(1)}" fill="${s.color}" font-size="10">${escapeXml(p.tag)}</text>`);
    }
    const ly = margin.top + 14 + i * 22;
    const lx = margin.left + plotW + 16;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 30}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 38}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
  });
  out.push(`<text x="${margin.left + plotW + 16}" y="${margin.top + 14 + series.length * 22 + 10}" fill="#555" font-size="10">point labels: concurrent clients</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
