import { Resvg } from '@resvg/resvg-js';
import type { ExperimentResult } from './experiment.js';
import { METRIC_LABELS, METRICS } from './metrics.js';

const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
const xmlEscape = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** One panel of a line chart: a title and one series of values per line (aligned with the chart's x ticks). */
export interface ChartPanel {
  title: string;
  /** null: no point at that tick (the line is broken there). */
  series: { name: string; values: (number | null)[] }[];
}

export interface LineChart {
  title: string;
  /** Labels of the evenly spaced x positions. */
  xTicks: (string | number)[];
  xLabel: string;
  panels: ChartPanel[];
  /** Panels per row (the legend takes the cell after the last panel). */
  columns?: number;
}

/**
 * Small-multiples line chart: one panel per entry with a shared legend (the series names of the first panel, one
 * colour each, in order), x at evenly spaced positions, each panel's y axis from 0 to a "nice" top.
 */
export function lineChartSvg(chart: LineChart): string {
  const panelW = 300;
  const panelH = 220;
  const cols = chart.columns ?? 4;
  const pad = { left: 48, right: 12, top: 28, bottom: 34 };
  const panels: (ChartPanel | 'legend')[] = [...chart.panels, 'legend'];
  const rows = Math.ceil(panels.length / cols);
  const width = cols * panelW;
  const height = rows * panelH + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" font-size="15" text-anchor="middle">${xmlEscape(chart.title)}</text>`,
  ];
  const ticks = chart.xTicks;
  const names = chart.panels[0]?.series.map((s) => s.name) ?? [];
  panels.forEach((panel, p) => {
    const x0 = (p % cols) * panelW;
    const y0 = 30 + Math.floor(p / cols) * panelH;
    if (panel === 'legend') {
      names.forEach((name, m) => {
        const y = y0 + pad.top + 10 + m * 22;
        const c = COLOURS[m % COLOURS.length]!;
        parts.push(`<line x1="${x0 + 30}" y1="${y}" x2="${x0 + 60}" y2="${y}" stroke="${c}" stroke-width="2.5"/>`);
        parts.push(`<circle cx="${x0 + 45}" cy="${y}" r="3.5" fill="${c}"/>`);
        parts.push(`<text x="${x0 + 68}" y="${y + 4}" font-size="13">${xmlEscape(name)}</text>`);
      });
      return;
    }
    const plotW = panelW - pad.left - pad.right;
    const plotH = panelH - pad.top - pad.bottom;
    let max = 0;
    for (const series of panel.series) for (const v of series.values) if (v !== null) max = Math.max(max, v);
    max = max > 0 ? niceCeil(max) : 1;
    const xAt = (k: number) => x0 + pad.left + (ticks.length === 1 ? plotW / 2 : (k * plotW) / (ticks.length - 1));
    const yAt = (v: number) => y0 + pad.top + plotH - (v / max) * plotH;
    parts.push(
      `<text x="${x0 + panelW / 2}" y="${y0 + 18}" font-size="13" text-anchor="middle">${xmlEscape(panel.title)}</text>`,
    );
    parts.push(
      `<rect x="${x0 + pad.left}" y="${y0 + pad.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    );
    for (let t = 0; t <= 4; t++) {
      const v = (max * t) / 4;
      const y = yAt(v);
      parts.push(`<line x1="${x0 + pad.left}" y1="${y}" x2="${x0 + pad.left + plotW}" y2="${y}" stroke="#eee"/>`);
      parts.push(`<text x="${x0 + pad.left - 4}" y="${y + 4}" font-size="10" text-anchor="end">${fmt(v)}</text>`);
    }
    ticks.forEach((tick, i) => {
      parts.push(
        `<text x="${xAt(i)}" y="${y0 + pad.top + plotH + 14}" font-size="10" text-anchor="middle">${xmlEscape(String(tick))}</text>`,
      );
    });
    parts.push(
      `<text x="${x0 + pad.left + plotW / 2}" y="${y0 + panelH - 4}" font-size="11" text-anchor="middle">${xmlEscape(chart.xLabel)}</text>`,
    );
    panel.series.forEach((series, m) => {
      const named = names.indexOf(series.name);
      const c = COLOURS[(named >= 0 ? named : m) % COLOURS.length]!;
      // Consecutive points form one polyline; a null breaks it.
      let run: string[] = [];
      const flush = () => {
        if (run.length > 1)
          parts.push(`<polyline points="${run.join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>`);
        run = [];
      };
      series.values.forEach((v, i) => {
        if (v === null) flush();
        else run.push(`${xAt(i).toFixed(1)},${yAt(v).toFixed(1)}`);
      });
      flush();
      series.values.forEach((v, i) => {
        if (v !== null) parts.push(`<circle cx="${xAt(i).toFixed(1)}" cy="${yAt(v).toFixed(1)}" r="2.5" fill="${c}"/>`);
      });
    });
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * Every metric against K for every model (mean over seeds), one panel per metric, like the paper's Figure 3.
 * K is placed at evenly spaced positions (the Ks are not evenly spaced).
 */
export function metricsChartSvg(result: ExperimentResult): string {
  const seeds = result.seeds.length;
  return lineChartSvg({
    title: `${result.dataset} — metrics against K (mean over ${seeds} seed${seeds > 1 ? 's' : ''})`,
    xTicks: result.ks,
    xLabel: 'K',
    panels: METRICS.map((metric) => ({
      title: METRIC_LABELS[metric],
      series: result.models.map((model) => ({ name: model, values: result.summary[model]![metric].mean })),
    })),
  });
}

/** Rasterise an SVG (system fonts, white background) to PNG bytes. */
export function svgToPng(svg: string): Buffer {
  const png = new Resvg(svg, { font: { loadSystemFonts: true }, background: 'white' }).render().asPng();
  return Buffer.from(png);
}

/** Top of the y axis: 4 × a "nice" tick step (1, 2, 2.5 or 5 × 10^n), so tick labels stay short. */
function niceCeil(v: number): number {
  const raw = v / 4;
  const exp = 10 ** Math.floor(Math.log10(raw));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * exp >= raw) return 4 * f * exp;
  return 40 * exp;
}

/** Up to 3 decimals, trailing zeros dropped (ticks are multiples of a nice step). */
const fmt = (v: number): string => String(Number(v.toFixed(3)));
