/**
 * Test coverage of src/ across every test layer, printed by `npm test`.
 *
 * Two sources: vitest's v8 coverage of the code the unit and process tests run in-process
 * (coverage/in-process/coverage-final.json), and the raw V8 coverage every orch process the
 * end-to-end and real-claude tests spawn writes through NODE_V8_COVERAGE (coverage/processes/).
 * The second is the built bundle (dist/bundle/, with the packages it holds): its runs are merged
 * per script, then mapped back to src/ through the bundler's source maps with the same converter
 * vitest uses (ast-v8-to-istanbul); what maps into node_modules/ is left out.
 * The two are then combined line by line: a line of src/ is covered when any test layer ran it.
 */
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mergeProcessCovs, type ProcessCov, type ScriptCov } from '@bcoe/v8-coverage';
import convert from 'ast-v8-to-istanbul';
import libCoverage, { type CoverageMap } from 'istanbul-lib-coverage';
import { parseAstAsync } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const coverageDir = path.join(root, 'coverage');
const distUrl = pathToFileURL(path.join(root, 'dist')).href + '/';

/** Every orch process's coverage of dist/, merged into one ScriptCov per file. */
async function processCoverage(): Promise<CoverageMap> {
  const dir = path.join(coverageDir, 'processes');
  const covs: ProcessCov[] = [];
  for (const name of await readdir(dir).catch(() => [])) {
    const data = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as ProcessCov;
    const result = data.result.filter((script) => script.url.startsWith(distUrl) && script.url.endsWith('.js'));
    if (result.length > 0) covs.push({ result });
  }
  const map = libCoverage.createCoverageMap({});
  if (covs.length === 0) return map;
  for (const script of mergeProcessCovs(covs).result) map.merge(await toIstanbul(script));
  // The bundle holds the packages orch uses too: only src/ counts.
  map.filter((file) => file.startsWith(path.join(root, 'src') + path.sep));
  return map;
}

async function toIstanbul(script: ScriptCov) {
  const file = fileURLToPath(script.url);
  const code = await readFile(file, 'utf8');
  const sourceMap = JSON.parse(await readFile(`${file}.map`, 'utf8')) as {
    version: number;
    sources: string[];
    mappings: string;
    names: string[];
  };
  // Absolute sources, so the result is keyed by the src/ file whatever the map's own root.
  sourceMap.sources = sourceMap.sources.map((source) => path.resolve(path.dirname(file), source));
  return convert({ code, ast: parseAstAsync(code), coverage: { url: script.url, functions: script.functions }, sourceMap });
}

interface FileLines {
  coverable: Set<number>;
  covered: Set<number>;
}

function addLines(into: Map<string, FileLines>, map: CoverageMap): void {
  for (const file of map.files()) {
    const lines = into.get(file) ?? { coverable: new Set(), covered: new Set() };
    for (const [line, hits] of Object.entries(map.fileCoverageFor(file).getLineCoverage())) {
      lines.coverable.add(Number(line));
      if (hits > 0) lines.covered.add(Number(line));
    }
    into.set(file, lines);
  }
}

function percent(covered: number, total: number): string {
  return total === 0 ? '100.0' : ((covered / total) * 100).toFixed(1);
}

function lineTotals(map: CoverageMap): { covered: number; total: number } {
  const summary = map.getCoverageSummary();
  return { covered: summary.lines.covered, total: summary.lines.total };
}

/** Uncovered lines as ranges: "12-14, 40". */
function ranges(lines: number[]): string {
  const parts: string[] = [];
  let start: number | undefined;
  let previous: number | undefined;
  for (const line of [...lines].sort((a, b) => a - b)) {
    if (start !== undefined && previous !== undefined && line === previous + 1) {
      previous = line;
      continue;
    }
    if (start !== undefined) parts.push(start === previous ? String(start) : `${start}-${previous}`);
    start = line;
    previous = line;
  }
  if (start !== undefined) parts.push(start === previous ? String(start) : `${start}-${previous}`);
  return parts.join(', ');
}

const inProcess = libCoverage.createCoverageMap(
  JSON.parse(await readFile(path.join(coverageDir, 'in-process', 'coverage-final.json'), 'utf8')) as Record<
    string,
    libCoverage.FileCoverageData
  >,
);
const processes = await processCoverage();
const combined = new Map<string, FileLines>();
addLines(combined, inProcess);
addLines(combined, processes);

let covered = 0;
let total = 0;
const rows: Array<{ file: string; pct: number; missing: string }> = [];
for (const [file, lines] of combined) {
  if (!file.startsWith(path.join(root, 'src') + path.sep)) continue;
  covered += lines.covered.size;
  total += lines.coverable.size;
  const missing = [...lines.coverable].filter((line) => !lines.covered.has(line));
  rows.push({
    file: path.relative(root, file),
    pct: lines.coverable.size === 0 ? 100 : (lines.covered.size / lines.coverable.size) * 100,
    missing: ranges(missing),
  });
}
rows.sort((a, b) => a.pct - b.pct);

const unit = lineTotals(inProcess);
const spawned = lineTotals(processes);
console.log('\nCoverage of src/ (lines), every test layer:');
console.log(`  in-process (unit, process tests)        ${percent(unit.covered, unit.total)}% (${unit.covered}/${unit.total})`);
console.log(`  spawned orch (end-to-end, real claude)  ${percent(spawned.covered, spawned.total)}% (${spawned.covered}/${spawned.total})`);
console.log(`  all layers together                     ${percent(covered, total)}% (${covered}/${total} lines in ${rows.length} files)`);
const below = rows.filter((row) => row.pct < 90);
if (below.length > 0) {
  console.log('  files below 90%:');
  for (const row of below) console.log(`    ${row.pct.toFixed(1).padStart(5)}%  ${row.file}  (not run: ${row.missing})`);
}
await writeFile(
  path.join(coverageDir, 'summary.json'),
  `${JSON.stringify({ lines: { covered, total, pct: Number(percent(covered, total)) }, inProcess: unit, spawned, files: rows }, null, 2)}\n`,
);
// The raw files run to hundreds of megabytes: the summary is what stays.
await rm(path.join(coverageDir, 'processes'), { recursive: true, force: true });
