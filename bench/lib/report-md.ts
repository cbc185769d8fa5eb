/** The Markdown report: machine, targets, then one section of tables per scenario. */
import { num, pValue, ratio } from './format.ts';
import type { Report, ScenarioResult } from './types.ts';

export function renderMarkdown(report: Report, chartFile: string | undefined): string {
  const out: string[] = [];
  const m = report.machine;
  out.push('# spawnpool benchmarks', '');
  out.push(
    `${report.mode === 'full' ? 'Full' : 'Quick'} mode${report.tiny ? ' (tiny sizes: wiring check only, figures meaningless)' : ''}, started ${report.startedAt}, took ${num(report.durationMs / 1000)} s, seed ${report.seed}.`,
    '',
  );
  out.push(
    `Machine: ${m.cpuModel}, ${m.cores} cores (${m.availableParallelism} available to Node), ${num(m.totalMemoryMb / 1024)} GiB RAM, Node ${m.node}, ${m.platform} ${m.arch} ${m.osRelease}. Load average (1/5/15 min) at start ${m.loadAvgStart.join(' / ')}, at end ${m.loadAvgEnd.join(' / ')}.`,
    '',
  );
  out.push(
    'Every comparison runs its variants interleaved in one process (one run of each per round, the first variant rotating), warm-up rounds discarded. Speedups are ratios of medians (> 1 favours spawnpool) with a 95% percentile-bootstrap interval; p is a one-sided permutation test (simple-statistics `permutationTest`, difference of means) that spawnpool is better. p95 is left out below 20 samples. A speed target counts as met on the ratio of medians; its interval is shown beside it.',
    '',
  );
  if (chartFile !== undefined) out.push(`![Distributions per variant](${chartFile})`, '');

  const targets = report.scenarios.flatMap((s) => s.targets.map((t) => ({ scenario: s.name, ...t })));
  if (targets.length > 0) {
    out.push('## Targets', '', '| scenario | target | measured | met |', '|---|---|---|---|');
    for (const t of targets) out.push(`| ${t.scenario} | ${t.description} | ${t.measured} | ${t.met ? 'yes' : '**missed**'} |`);
    out.push('');
    const missed = targets.filter((t) => !t.met && t.bound !== undefined);
    if (missed.length > 0) {
      out.push('Missed targets, and what bounds them (measured):', '');
      for (const t of missed) out.push(`- **${t.scenario}**, ${t.description}: ${t.bound}`);
      out.push('');
    }
  }
  for (const s of report.scenarios) out.push(...scenarioSection(s));
  return out.join('\n');
}

function scenarioSection(s: ScenarioResult): string[] {
  const out = [`## ${s.title}`, ''];
  if (s.error !== undefined) out.push('**This scenario failed:**', '', '```', s.error, '```', '');
  out.push(
    `Parameters: ${Object.entries(s.params)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ')}. Took ${num(s.durationMs / 1000)} s.`,
    '',
  );
  if (s.variants.length > 0) {
    out.push('| variant | metric | median | p95 | min | max | n |', '|---|---|---:|---:|---:|---:|---:|');
    for (const v of s.variants) {
      for (const metric of s.metrics) {
        const sum = v.summary[metric.key];
        if (sum === undefined) continue;
        out.push(
          `| ${v.name} | ${metric.label}${metric.unit === '' ? '' : ` (${metric.unit})`} | ${num(sum.median)} | ${num(sum.p95)} | ${num(sum.min)} | ${num(sum.max)} | ${sum.n} |`,
        );
      }
    }
    out.push('');
  }
  if (s.comparisons.length > 0) {
    out.push('| comparison | metric | ratio of medians | 95% CI | p |', '|---|---|---:|---|---:|');
    for (const c of s.comparisons) {
      const metric = s.metrics.find((x) => x.key === c.metric);
      out.push(
        `| ${c.candidate} vs ${c.baseline} | ${metric?.label ?? c.metric} | ${ratio(c.ratio)} | [${ratio(c.ci[0])}, ${ratio(c.ci[1])}] | ${pValue(c.p, c.pFloor)} |`,
      );
    }
    out.push('');
  }
  if (s.facts.length > 0) {
    out.push('| measured | value |', '|---|---|');
    for (const f of s.facts) out.push(`| ${f.label} | ${f.value} |`);
    out.push('');
  }
  if (s.variants.length > 0) {
    out.push('Variants:', '');
    for (const v of s.variants) out.push(`- \`${v.name}\` (${v.role}): ${v.description}`);
    out.push('');
  }
  if (s.notes.length > 0) {
    for (const n of s.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out;
}
