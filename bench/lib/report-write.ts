/** Writes latest.json, latest.md and latest.svg (and an extra JSON copy if asked). */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderMarkdown } from './report-md.ts';
import { renderSvg } from './report-svg.ts';
import type { Report } from './types.ts';

export interface WrittenFiles {
  json: string;
  markdown: string;
  svg: string;
  extraJson: string | undefined;
}

export async function writeReport(report: Report, outDir: string, extraJson: string | undefined): Promise<{ files: WrittenFiles; markdown: string }> {
  await mkdir(outDir, { recursive: true });
  const files: WrittenFiles = {
    json: path.join(outDir, 'latest.json'),
    markdown: path.join(outDir, 'latest.md'),
    svg: path.join(outDir, 'latest.svg'),
    extraJson: extraJson === undefined ? undefined : path.resolve(extraJson),
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const markdown = renderMarkdown(report, 'latest.svg');
  await Promise.all([
    writeFile(files.json, json),
    writeFile(files.markdown, `${markdown}\n`),
    writeFile(files.svg, renderSvg(report)),
    ...(files.extraJson === undefined ? [] : [mkdir(path.dirname(files.extraJson), { recursive: true }).then(() => writeFile(files.extraJson!, json))]),
  ]);
  return { files, markdown };
}
