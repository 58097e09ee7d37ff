// Small SVG charts for the explorer, drawn from numbers only (labels as text nodes, never markup).

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function frame(testid, label, width, height) {
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart small', 'data-testid': testid, role: 'img', 'aria-label': label });
}

/** One bar per point ({label, value, title}); the highest value labels the axis. */
export function barChart(points, { testid, label, unit }) {
  const width = 380;
  const height = 180;
  const pad = 28;
  const chart = frame(testid, label, width, height);
  const highest = Math.max(0, ...points.map((p) => p.value));
  const max = Math.max(1, highest);
  const step = (width - 2 * pad) / Math.max(1, points.length);
  chart.append(svg('line', { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: 'axis' }));
  points.forEach((p, i) => {
    const barHeight = (p.value / max) * (height - 2 * pad);
    const bar = svg('rect', { x: pad + i * step + 2, y: height - pad - barHeight, width: Math.max(1, step - 4), height: barHeight, class: 'bar' });
    bar.append(svg('title', {}, p.title ?? `${p.label}: ${p.value} ${unit}`));
    chart.append(bar);
    if (i % Math.ceil(points.length / 5) === 0) chart.append(svg('text', { x: pad + i * step + 2, y: height - pad + 14 }, p.label));
  });
  chart.append(svg('text', { x: 4, y: pad - 10 }, `${label} (highest ${highest})`));
  return chart;
}

/** Two bars per group ({label, a, b} in percent): a and b side by side, with a legend. */
export function groupedBarChart(groups, { testid, label, legendA, legendB }) {
  const width = 380;
  const height = 180;
  const pad = 28;
  const chart = frame(testid, label, width, height);
  const top = 44; // title and legend above the bars
  const step = (width - 2 * pad) / Math.max(1, groups.length);
  const y = (percent) => height - pad - (percent / 100) * (height - pad - top);
  chart.append(svg('line', { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: 'axis' }));
  groups.forEach((g, i) => {
    const barWidth = Math.max(1, step / 2 - 3);
    for (const [value, cls, x, legend] of [[g.a, 'bar', pad + i * step + 2, legendA], [g.b, 'bar alt', pad + i * step + 2 + barWidth, legendB]]) {
      const bar = svg('rect', { x, y: y(value), width: barWidth, height: height - pad - y(value), class: cls });
      bar.append(svg('title', {}, `${g.label}: ${value}% ${legend}`));
      chart.append(bar);
    }
    chart.append(svg('text', { x: pad + i * step + 2, y: height - pad + 14 }, g.label));
  });
  chart.append(svg('text', { x: 4, y: 14 }, label));
  chart.append(svg('rect', { x: 6, y: 22, width: 10, height: 10, class: 'bar' }), svg('text', { x: 20, y: 31 }, legendA));
  chart.append(svg('rect', { x: 76, y: 22, width: 10, height: 10, class: 'bar alt' }), svg('text', { x: 90, y: 31 }, legendB));
  return chart;
}
