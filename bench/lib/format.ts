/** Number formatting shared by the Markdown report and the chart. */

/** Three significant figures, no exponent for everyday magnitudes. */
export function num(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (n === 0) return '0';
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(2);
}

export function ratio(r: number): string {
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

export function pValue(p: number, floor: number): string {
  if (p < floor) return `< ${floor}`;
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}
