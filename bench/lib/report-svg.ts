/**
 * A hand-written SVG of the distributions per variant: for each chart, one
 * row per variant with a box (quartiles), the median, whiskers to min and
 * max, and every sample as a dot. Dots are jittered with a seeded PRNG so the
 * file only changes when the data does.
 */
import { quantileSorted } from 'simple-statistics';
import { num } from './format.ts';
import { mulberry32 } from '../../test/support/prng.ts';
import type { Report, VariantRole } from './types.ts';

const WIDTH = 860;
const LABEL_W = 170;
const RIGHT_W = 130;
const ROW_H = 30;
const HEAD_H = 30;
const AXIS_H = 28;
const GAP = 18;
const MAX_DOTS = 400;
const COLOR: Record<VariantRole, string> = { candidate: '#1b9e77', baseline: '#d95f02', reference: '#7570b3' };

interface Row {
  name: string;
  role: VariantRole;
  values: number[];
}

export function renderSvg(report: Report): string {
  const panels: { rows: Row[]; title: string; unit: string }[] = [];
  for (const s of report.scenarios) {
    for (const chart of s.charts) {
      const unit = s.metrics.find((m) => m.key === chart.metric)?.unit ?? '';
      const rows = s.variants.map((v) => ({ name: v.name, role: v.role, values: v.samples[chart.metric] ?? [] })).filter((r) => r.values.length > 0);
      if (rows.length > 0) panels.push({ rows, title: chart.title, unit });
    }
  }
  const parts: string[] = [];
  let y = 10;
  for (const panel of panels) {
    parts.push(renderPanel(panel.rows, panel.title, panel.unit, y));
    y += HEAD_H + panel.rows.length * ROW_H + AXIS_H + GAP;
  }
  const height = Math.max(40, y);
  const m = report.machine;
  const caption = `${m.cpuModel}, ${m.cores} cores, Node ${m.node}, ${report.mode} mode${report.tiny ? ' (tiny)' : ''}, ${report.startedAt.slice(0, 10)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height + 16}" viewBox="0 0 ${WIDTH} ${height + 16}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    ...legend(height + 8),
    `<text x="${WIDTH - 8}" y="${height + 8}" text-anchor="end" fill="#777" font-size="10">${escapeXml(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

function renderPanel(rows: Row[], title: string, unit: string, top: number): string {
  const all = rows.flatMap((r) => r.values);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const log = lo > 0 && hi / lo > 30;
  const x0 = LABEL_W;
  const x1 = WIDTH - RIGHT_W;
  const domain = log ? [Math.log10(lo) - 0.05, Math.log10(hi) + 0.05] : [Math.min(0, lo), hi === lo ? hi + 1 : hi * 1.05];
  const scale = (v: number) => x0 + (((log ? Math.log10(v) : v) - domain[0]!) / (domain[1]! - domain[0]!)) * (x1 - x0);
  const out: string[] = [`<g>`, `<text x="8" y="${top + 18}" font-weight="600" font-size="13">${escapeXml(title)}${log ? ' (log scale)' : ''}</text>`];
  const rand = mulberry32(0x51ab);

  rows.forEach((row, i) => {
    const cy = top + HEAD_H + i * ROW_H + ROW_H / 2;
    const sorted = [...row.values].sort((a, b) => a - b);
    const q = (p: number) => quantileSorted(sorted, p);
    const color = COLOR[row.role];
    out.push(`<text x="${x0 - 8}" y="${cy + 4}" text-anchor="end">${escapeXml(row.name)}</text>`);
    out.push(`<line x1="${f(scale(sorted[0]!))}" x2="${f(scale(sorted[sorted.length - 1]!))}" y1="${cy}" y2="${cy}" stroke="${color}" stroke-width="1"/>`);
    const bx = scale(q(0.25));
    out.push(
      `<rect x="${f(bx)}" y="${cy - 9}" width="${f(Math.max(1, scale(q(0.75)) - bx))}" height="18" fill="${color}" fill-opacity="0.18" stroke="${color}"/>`,
    );
    const step = Math.max(1, Math.ceil(row.values.length / MAX_DOTS));
    for (let k = 0; k < row.values.length; k += step) {
      out.push(`<circle cx="${f(scale(row.values[k]!))}" cy="${f(cy + (rand() - 0.5) * 14)}" r="1.8" fill="${color}" fill-opacity="0.55"/>`);
    }
    const med = q(0.5);
    out.push(`<line x1="${f(scale(med))}" x2="${f(scale(med))}" y1="${cy - 11}" y2="${cy + 11}" stroke="#111" stroke-width="2"/>`);
    out.push(`<text x="${x1 + 8}" y="${cy + 4}" fill="#333">${escapeXml(`${num(med)} ${unit}`)}</text>`);
  });

  const axisY = top + HEAD_H + rows.length * ROW_H + 4;
  out.push(`<line x1="${x0}" x2="${x1}" y1="${axisY}" y2="${axisY}" stroke="#999"/>`);
  for (const t of ticks(domain[0]!, domain[1]!, log)) {
    const x = scale(t);
    if (x < x0 - 0.5 || x > x1 + 0.5) continue;
    out.push(`<line x1="${f(x)}" x2="${f(x)}" y1="${axisY}" y2="${axisY + 4}" stroke="#999"/>`);
    out.push(
      `<text x="${f(x)}" y="${axisY + 16}" text-anchor="middle" fill="#555" font-size="10">${escapeXml(Number.isInteger(t) ? t.toLocaleString('en-US') : num(t))}</text>`,
    );
  }
  out.push(`<text x="${x1 + 8}" y="${axisY + 16}" fill="#555" font-size="10">${escapeXml(unit)}</text>`, '</g>');
  return out.join('\n');
}

function legend(y: number): string[] {
  const entries: [VariantRole, string][] = [
    ['candidate', 'spawnpool'],
    ['baseline', 'baseline'],
    ['reference', 'reference'],
  ];
  return entries.map(([role, label], i) => {
    const x = 8 + i * 90;
    return `<rect x="${x}" y="${y - 8}" width="10" height="10" fill="${COLOR[role]}" fill-opacity="0.5" stroke="${COLOR[role]}"/><text x="${x + 14}" y="${y + 1}" fill="#555" font-size="10">${label}</text>`;
  });
}

/** Round tick values: powers of ten on a log axis, 1/2/5 steps on a linear one. */
function ticks(d0: number, d1: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(d0); e <= Math.ceil(d1); e++) out.push(10 ** e);
    return out;
  }
  const raw = (d1 - d0) / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(d0 / step) * step; t <= d1 + 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function f(n: number): string {
  return n.toFixed(1);
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
