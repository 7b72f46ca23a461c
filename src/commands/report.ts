import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError, environmentError, errorCode } from '../errors.js';
import type { StampedEvent } from '../events.js';
import { buildReport, type ReportModel } from '../render/report-model.js';
import { loadRun } from '../state/runs.js';

/** A run's report data: its registry and its ledger (a line cut short by a crash is skipped). */
export async function loadReport(repoRoot: string, runId: string | undefined, now: number = Date.now()): Promise<ReportModel> {
  const { paths, registry } = await loadRun(repoRoot, runId);
  let text = '';
  try {
    text = await readFile(paths.ledger, 'utf8');
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  const ledger: StampedEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      ledger.push(JSON.parse(line) as StampedEvent);
    } catch {
      // The last line of a ledger whose writer died mid-append.
    }
  }
  return buildReport(registry, ledger, now);
}

/** Writes the HTML report; returns the absolute path. Nothing is left half-written on failure. */
export async function writeReport(cwd: string, file: string, html: string): Promise<string> {
  const target = path.resolve(cwd, file);
  try {
    await writeFile(target, html);
  } catch (error) {
    throw (
      environmentError(error, `cannot write the report to ${target}`, 'free some space or choose another --html file.') ??
      new UserError(`cannot write the report to ${target}: ${errorCode(error) ?? String(error)}; choose another --html file.`)
    );
  }
  return target;
}

/**
 * Opens a file with the desktop's opener (`open` on macOS, `xdg-open` elsewhere), detached: orch
 * does not wait for the browser. Resolves once it started, or rejects with a UserError.
 */
export function openFile(file: string, env: NodeJS.ProcessEnv): Promise<void> {
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
  return new Promise((resolve, reject) => {
    const child = spawn(opener, [file], { detached: true, stdio: 'ignore', env });
    child.once('error', (error) =>
      reject(
        new UserError(
          `wrote ${file}, but cannot open it: ${errorCode(error) === 'ENOENT' ? `${opener} is not on PATH` : String(error)}; open it in a browser yourself.`,
        ),
      ),
    );
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}
