import { formatDuration } from '../util/duration.js';
import { formatBudget, formatCost } from './format.js';
import type { ReportModel, ReportTask } from './report-model.js';
import { describeWait } from './waiting.js';

/**
 * `orch report --html`: one self-contained page — inline CSS, charts as SVG drawn here, no script,
 * no font, no request to anything outside the file — so it opens from disk and can be mailed.
 */

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);

const COLORS: Record<string, string> = {
  succeeded: '#2e9d4f',
  failed: '#d64541',
  requeued: '#e5a00d',
  interrupted: '#8a8a8a',
  running: '#2f7ed8',
  pending: '#b0b7c3',
  skipped: '#c9a227',
  paused: '#e5a00d',
  aborted: '#d64541',
};
const color = (status: string): string => COLORS[status] ?? '#8a8a8a';

const iso = (time: number): string =>
  new Date(time)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');

/** A tick step that gives about eight ticks over `span` ms. */
function tickStep(span: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);
  return steps.find((step) => span / step <= 8) ?? steps[steps.length - 1]!;
}

function timeline(model: ReportModel): string {
  const labelWidth = 210;
  const chartWidth = 960;
  const rowHeight = 26;
  const axisHeight = 28;
  const limitHeight = 46;
  const top = axisHeight + limitHeight;
  const height = top + model.tasks.length * rowHeight + 12;
  const width = labelWidth + chartWidth + 20;
  const span = Math.max(1, model.end - model.start);
  const x = (time: number): number => labelWidth + ((time - model.start) / span) * chartWidth;
  const out: string[] = [];
  out.push(
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="timeline of every attempt">`,
  );
  out.push(
    '<defs><pattern id="gap" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#e6e8ec"/></pattern></defs>',
  );
  // Time when no orchestrator ran the run (between a crash and its resume).
  let cursor = model.start;
  for (const session of [...model.sessions].sort((a, b) => a.start - b.start)) {
    if (session.start > cursor)
      out.push(
        `<rect x="${x(cursor)}" y="${axisHeight}" width="${x(session.start) - x(cursor)}" height="${height - axisHeight}" fill="url(#gap)"><title>no orchestrator was running the run</title></rect>`,
      );
    cursor = Math.max(cursor, session.end);
  }
  // Axis.
  const step = tickStep(span);
  for (let tick = 0; tick <= span; tick += step) {
    out.push(`<line x1="${x(model.start + tick)}" x2="${x(model.start + tick)}" y1="${axisHeight - 6}" y2="${height}" class="grid"/>`);
    out.push(`<text x="${x(model.start + tick)}" y="${axisHeight - 10}" class="tick">+${formatDuration(tick)}</text>`);
  }
  // Pauses across every row.
  for (const pause of model.pauses) {
    out.push(
      `<rect class="pause ${pause.kind}" x="${x(pause.start)}" y="${axisHeight}" width="${Math.max(1, x(pause.end) - x(pause.start))}" height="${height - axisHeight}"><title>${escape(`${pause.label} (${formatDuration(pause.end - pause.start)})`)}</title></rect>`,
    );
  }
  // The concurrency limit as a step line.
  const maxLimit = Math.max(1, ...model.limits.map((limit) => limit.value));
  const y = (value: number): number => axisHeight + limitHeight - 8 - (value / maxLimit) * (limitHeight - 16);
  out.push(`<text x="8" y="${axisHeight + limitHeight / 2 + 4}" class="label dim">concurrency limit</text>`);
  if (model.limits.length > 0) {
    const points: string[] = [];
    model.limits.forEach((limit, index) => {
      const next = model.limits[index + 1]?.at ?? model.end;
      points.push(`${x(limit.at)},${y(limit.value)}`, `${x(next)},${y(limit.value)}`);
    });
    out.push(`<polyline class="limit" points="${points.join(' ')}"/>`);
    for (const limit of model.limits)
      out.push(
        `<text x="${x(limit.at) + 2}" y="${y(limit.value) - 3}" class="tick"><title>${escape(`limit ${limit.value} (${limit.reason}) at +${formatDuration(limit.at - model.start)}`)}</title>${limit.value} ${escape(limit.reason)}</text>`,
      );
  }
  // One row per task: its waits (thin, grey) and its attempts (coloured by outcome).
  model.tasks.forEach((task, index) => {
    const rowY = top + index * rowHeight;
    if (index % 2 === 1) out.push(`<rect x="0" y="${rowY}" width="${width}" height="${rowHeight}" class="stripe"/>`);
    out.push(
      `<circle cx="12" cy="${rowY + rowHeight / 2}" r="5" fill="${color(task.status)}"><title>${escape(task.status)}</title></circle>`,
    );
    out.push(
      `<text x="24" y="${rowY + rowHeight / 2 + 4}" class="label" data-task="${escape(task.id)}">${escape(task.id.length > 26 ? `${task.id.slice(0, 25)}…` : task.id)}</text>`,
    );
    for (const wait of task.waits) {
      out.push(
        `<rect class="wait" x="${x(wait.start)}" y="${rowY + 10}" width="${Math.max(1, x(wait.end) - x(wait.start))}" height="6"><title>${escape(`${task.id} waited ${formatDuration(wait.end - wait.start)}: ${describeWait(wait.reason, wait.start)}`)}</title></rect>`,
      );
    }
    for (const attempt of task.attempts) {
      const left = x(attempt.start);
      const barWidth = Math.max(2, x(attempt.end) - left);
      const facts = [
        `${task.id} attempt ${attempt.number} (${attempt.kind}): ${attempt.outcome}`,
        `${iso(attempt.start)} · ${formatDuration(attempt.end - attempt.start)}`,
        attempt.turns !== undefined ? `${attempt.turns} turns` : '',
        attempt.costUsd !== undefined ? formatCost(attempt.costUsd) : '',
        attempt.worker ? `on worker ${attempt.worker}` : '',
        attempt.reason ?? '',
      ].filter(Boolean);
      out.push(
        `<rect class="attempt" x="${left}" y="${rowY + 4}" width="${barWidth}" height="${rowHeight - 8}" rx="3" fill="${color(attempt.outcome)}"><title>${escape(facts.join('\n'))}</title></rect>`,
      );
      if (attempt.number > 1 && barWidth > 22)
        out.push(`<text x="${left + 4}" y="${rowY + rowHeight / 2 + 4}" class="attempt-label">#${attempt.number}</text>`);
    }
  });
  for (const mark of model.marks) {
    out.push(
      `<line class="mark" x1="${x(mark.at)}" x2="${x(mark.at)}" y1="${axisHeight}" y2="${height}"><title>${escape(`+${formatDuration(mark.at - model.start)}: ${mark.label}`)}</title></line>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}

function legend(): string {
  const item = (fill: string, text: string, extra = ''): string => `<span><i style="background:${fill}${extra}"></i>${text}</span>`;
  return `<p class="legend">${[
    item(COLORS.succeeded!, 'succeeded'),
    item(COLORS.failed!, 'failed'),
    item(COLORS.requeued!, 'requeued / retried'),
    item(COLORS.interrupted!, 'interrupted'),
    item(COLORS.running!, 'running'),
    item('#c5cad3', 'waiting (hover for why)', ';height:4px'),
    item('rgba(229,160,13,.25)', 'API pause'),
    item('rgba(128,90,213,.25)', 'usage-limit pause'),
    item('#e6e8ec', 'no orchestrator running'),
  ].join('')}</p>`;
}

/** Dependency depth: a task sits one column right of its deepest dependency. */
function depths(tasks: readonly ReportTask[]): Map<string, number> {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const depth = new Map<string, number>();
  const of = (task: ReportTask, seen: Set<string>): number => {
    const known = depth.get(task.id);
    if (known !== undefined) return known;
    if (seen.has(task.id)) return 0;
    seen.add(task.id);
    const value =
      Math.max(
        -1,
        ...task.dependsOn
          .map((id) => byId.get(id))
          .filter((dep) => dep !== undefined)
          .map((dep) => of(dep, seen)),
      ) + 1;
    depth.set(task.id, value);
    return value;
  };
  for (const task of tasks) of(task, new Set());
  return depth;
}

function graph(model: ReportModel): string {
  const nodeWidth = 180;
  const nodeHeight = 40;
  const columnGap = 90;
  const rowGap = 18;
  const margin = 20;
  const depth = depths(model.tasks);
  const columns = new Map<number, ReportTask[]>();
  for (const task of model.tasks) {
    const column = depth.get(task.id) ?? 0;
    (columns.get(column) ?? columns.set(column, []).get(column)!).push(task);
  }
  const position = new Map<string, { x: number; y: number }>();
  let rows = 0;
  for (const [column, tasks] of columns) {
    tasks.forEach((task, row) =>
      position.set(task.id, { x: margin + column * (nodeWidth + columnGap), y: margin + row * (nodeHeight + rowGap) }),
    );
    rows = Math.max(rows, tasks.length);
  }
  const width = margin * 2 + Math.max(1, columns.size) * (nodeWidth + columnGap) - columnGap;
  const height = margin * 2 + Math.max(1, rows) * (nodeHeight + rowGap) + 30;
  const out: string[] = [];
  out.push(
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="dependency and conflict graph">`,
  );
  out.push(
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4a5568"/></marker></defs>',
  );
  const edge = (from: string, to: string, kind: 'dependency' | 'built-on', title: string): void => {
    const a = position.get(from);
    const b = position.get(to);
    if (!a || !b) return;
    const x1 = a.x + nodeWidth;
    const y1 = a.y + nodeHeight / 2;
    const x2 = b.x;
    const y2 = b.y + nodeHeight / 2;
    const bend = Math.max(30, (x2 - x1) / 2);
    out.push(
      `<path class="edge ${kind}" d="M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}" marker-end="url(#arrow)"><title>${escape(title)}</title></path>`,
    );
  };
  for (const task of model.tasks) {
    for (const dependency of task.dependsOn) edge(dependency, task.id, 'dependency', `${task.id} depends on ${dependency}`);
    for (const other of task.builtOn.filter((id) => !task.dependsOn.includes(id)))
      edge(other, task.id, 'built-on', `${task.id} was built on ${other} (they conflict)`);
  }
  for (const conflict of model.conflicts) {
    const a = position.get(conflict.a);
    const b = position.get(conflict.b);
    if (!a || !b) continue;
    const title = `<title>${escape(`${conflict.a} and ${conflict.b} conflict on ${conflict.files.join(', ')}`)}</title>`;
    if (a.x === b.x) {
      // The same column: an arc on the right side of both.
      const x = a.x + nodeWidth;
      const bulge = 24 + Math.abs(b.y - a.y) / 5;
      out.push(
        `<path class="edge conflict" d="M${x},${a.y + nodeHeight / 2} C${x + bulge},${a.y + nodeHeight / 2} ${x + bulge},${b.y + nodeHeight / 2} ${x},${b.y + nodeHeight / 2}">${title}</path>`,
      );
      continue;
    }
    const x1 = a.x + nodeWidth / 2;
    const y1 = a.y + nodeHeight;
    const x2 = b.x + nodeWidth / 2;
    const y2 = b.y + nodeHeight;
    const sag = 26 + Math.abs(y2 - y1) / 4;
    out.push(
      `<path class="edge conflict" d="M${x1},${y1} C${x1},${Math.max(y1, y2) + sag} ${x2},${Math.max(y1, y2) + sag} ${x2},${y2}">${title}</path>`,
    );
  }
  for (const task of model.tasks) {
    const at = position.get(task.id)!;
    const name = task.id.length > 22 ? `${task.id.slice(0, 21)}…` : task.id;
    out.push(
      `<g class="node"><title>${escape(`${task.id}: ${task.title}\n${task.status}${task.reason ? ` — ${task.reason}` : ''}${task.files.length > 0 ? `\nfiles: ${task.files.join(', ')}` : ''}`)}</title><rect x="${at.x}" y="${at.y}" width="${nodeWidth}" height="${nodeHeight}" rx="6" stroke="${color(task.status)}"/><text x="${at.x + 10}" y="${at.y + 17}" class="label">${escape(name)}</text><text x="${at.x + 10}" y="${at.y + 32}" class="tick" fill="${color(task.status)}">${escape(task.status)}</text></g>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}

function tasksTable(model: ReportModel): string {
  const rows = model.tasks.map(
    (task) =>
      `<tr data-task="${escape(task.id)}"><td><code>${escape(task.id)}</code></td><td><span class="status" style="color:${color(task.status)}">${escape(task.status)}</span></td><td>${formatDuration(task.durationMs)}</td><td>${task.attempts.length}</td><td>${task.turns ?? '—'}</td><td>${formatCost(task.costUsd)}</td><td>${task.commits}</td><td><code>${escape(task.branch)}</code></td><td>${escape(task.merge ?? '—')}</td><td class="reason">${escape(task.reason ?? '')}</td></tr>`,
  );
  return `<table><thead><tr><th>task</th><th>status</th><th>duration</th><th>attempts</th><th>turns</th><th>cost</th><th>commits</th><th>branch</th><th>merge</th><th>reason</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2430; margin: 24px; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.meta { color: #5a6272; margin: 2px 0; } .reason-line { color: #9c6500; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 14px; }
.card { border: 1px solid #e3e6eb; border-radius: 8px; padding: 8px 14px; min-width: 110px; }
.card b { display: block; font-size: 18px; } .card span { color: #5a6272; font-size: 12px; }
.scroll { overflow-x: auto; border: 1px solid #e3e6eb; border-radius: 8px; padding: 6px; }
.chart text { font: 12px system-ui, sans-serif; fill: #1f2430; } .chart .tick { font-size: 11px; fill: #5a6272; } .chart .dim { fill: #5a6272; }
.grid { stroke: #eef0f3; } .stripe { fill: #fafbfc; }
.wait { fill: #c5cad3; } .attempt { stroke: rgba(0,0,0,.15); } .attempt-label { fill: #fff !important; font-size: 11px !important; font-weight: 600; }
.pause.api { fill: rgba(229,160,13,.18); } .pause.usage-limit { fill: rgba(128,90,213,.18); }
.limit { fill: none; stroke: #2f7ed8; stroke-width: 2; } .mark { stroke: #805ad5; stroke-width: 1.5; stroke-dasharray: 4 3; }
.node rect { fill: #fff; stroke-width: 2; } .edge { fill: none; stroke: #4a5568; stroke-width: 1.5; }
.edge.built-on { stroke-dasharray: 2 3; stroke: #718096; } .edge.conflict { stroke: #d64541; stroke-dasharray: 6 4; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; color: #5a6272; font-size: 12px; }
.legend i { display: inline-block; width: 14px; height: 10px; margin-right: 5px; vertical-align: middle; border-radius: 2px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eef0f3; vertical-align: top; }
th { font-size: 12px; color: #5a6272; } .status { font-weight: 600; } td.reason { color: #5a6272; max-width: 420px; }
`;

export function renderReportHtml(model: ReportModel): string {
  const { run, summary } = model;
  const done = summary.counts.succeeded + summary.counts.failed + summary.counts.skipped;
  const card = (value: string, label: string): string => `<div class="card"><b>${escape(value)}</b><span>${escape(label)}</span></div>`;
  const cost =
    run.maxCostUsd !== undefined ? `${formatCost(summary.costUsd)} of ${formatBudget(run.maxCostUsd)}` : formatCost(summary.costUsd);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>orch run ${escape(run.id)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>orch run <code>${escape(run.id)}</code> · <span style="color:${color(run.status)}">${escape(run.status)}</span>${run.exitCode !== undefined ? ` (exit ${run.exitCode})` : ''}</h1>
<p class="meta">base <code>${escape(run.baseRef)}</code> (<code>${escape(run.baseSha.slice(0, 9))}</code>) · ${escape(iso(model.start))} → ${escape(iso(model.end))}${run.mode === 'sequential' ? ` · one task at a time: ${escape(run.modeReason ?? '')}` : ''}</p>
${run.reason ? `<p class="reason-line">${escape(run.reason)}</p>` : ''}
<div class="cards">${[
    card(`${done}/${model.tasks.length}`, 'tasks done'),
    card(String(summary.counts.succeeded), 'succeeded'),
    card(String(summary.counts.failed), 'failed'),
    card(String(summary.counts.skipped + summary.counts.pending + summary.counts.interrupted), 'skipped, pending or interrupted'),
    card(formatDuration(summary.wallMs), 'wall time'),
    card(formatDuration(summary.taskTimeMs), 'task time (every attempt)'),
    card(summary.averageConcurrency.toFixed(2), 'agents at once on average'),
    card(cost, 'cost'),
  ].join('')}</div>
</header>
<section id="timeline"><h2>Timeline</h2>${legend()}<div class="scroll">${timeline(model)}</div></section>
<section id="graph"><h2>Dependencies and conflicts</h2><p class="legend"><span>→ depends on</span><span>⇢ built on (conflicting task that ran first)</span><span style="color:#d64541">- - conflict (hover for the files)</span></p><div class="scroll">${graph(model)}</div></section>
<section id="tasks"><h2>Tasks</h2>${tasksTable(model)}</section>
<footer><p class="meta">Written by orch from the run's registry and ledger (.gadugi/runs/${escape(run.id)}/). Every figure is measured; none is estimated.</p></footer>
</body>
</html>
`;
}
