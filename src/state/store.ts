import { appendFile, readFile } from 'node:fs/promises';
import { environmentError, errorCode } from '../errors.js';
import type { EventSink, OrchEvent, StampedEvent } from '../events.js';
import type { RunPaths } from './paths.js';
import type { Registry, RunRecord, TaskRecord } from './registry.js';
import { writeRegistry } from './registry-file.js';

/**
 * The single writer of one run's state. Callers change the in-memory registry, then call
 * `record(event)`: the registry is written atomically, the event appended to the ledger, and
 * only then handed to the renderers. Writes are serialized; changes made while a write is queued
 * ride along with it.
 */
export class RunStore {
  private seq: number;
  private queued: Promise<void> | undefined;
  private last: Promise<void> = Promise.resolve();
  private ledgerTail: Promise<void> = Promise.resolve();

  private constructor(
    readonly paths: RunPaths,
    readonly registry: Registry,
    private readonly sink: EventSink,
    seq: number,
  ) {
    this.seq = seq;
  }

  static create(paths: RunPaths, registry: Registry, sink: EventSink): RunStore {
    return new RunStore(paths, registry, sink, 0);
  }

  /** For a resumed run: event numbers continue after the ledger's last line. */
  static async open(paths: RunPaths, registry: Registry, sink: EventSink): Promise<RunStore> {
    let text = '';
    try {
      text = await readFile(paths.ledger, 'utf8');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    // A crash in the middle of an append leaves a partial last line: end it, so new lines stay whole.
    if (text.length > 0 && !text.endsWith('\n')) await appendFile(paths.ledger, '\n');
    const lines = text.split('\n').filter((line) => line.trim()).length;
    return new RunStore(paths, registry, sink, lines);
  }

  get run(): RunRecord {
    return this.registry.run;
  }

  get tasks(): TaskRecord[] {
    return this.registry.tasks;
  }

  task(id: string): TaskRecord {
    const task = this.registry.tasks.find((candidate) => candidate.id === id);
    if (!task) throw new Error(`no task ${id} in run ${this.registry.run.id}`);
    return task;
  }

  /** Writes the registry as it is now (heartbeats, progress): no ledger line, no event. */
  save(): Promise<void> {
    if (this.queued) return this.queued;
    const write = this.last.then(() => {
      this.queued = undefined;
      return writeRegistry(this.paths.registry, this.registry);
    });
    this.queued = write;
    // The chain continues even if this write failed; the failure goes to whoever awaited it.
    this.last = write.catch(() => undefined);
    return write;
  }

  /** A state change: registry write, then a ledger line, then the event for renderers. */
  async record(event: OrchEvent): Promise<StampedEvent> {
    return (await this.recordAll([event]))[0]!;
  }

  /**
   * State changes that happened together (a check and the statuses it decides): one registry
   * write, then their ledger lines in order, then the events.
   */
  async recordAll(events: readonly OrchEvent[]): Promise<StampedEvent[]> {
    const stamped = events.map((event) => this.stamp(event));
    await this.save();
    // Appends are chained so the ledger's lines stay in event order.
    const append = this.ledgerTail.then(() =>
      appendFile(this.paths.ledger, stamped.map((line) => `${JSON.stringify(line)}\n`).join('')).catch((error: unknown) => {
        throw (
          environmentError(
            error,
            `cannot append to the ledger ${this.paths.ledger}`,
            'free some space or fix the permissions, then `orch resume`.',
          ) ?? error
        );
      }),
    );
    this.ledgerTail = append.catch(() => undefined);
    await append;
    for (const line of stamped) this.sink(line);
    return stamped;
  }

  /** Progress that is not a state change (`task-activity`): shown live, kept in the agent's own log, not the ledger. */
  notify(event: Extract<OrchEvent, { type: 'task-activity' }>): void {
    this.sink({ ...event, seq: this.seq, at: new Date().toISOString() });
  }

  /** Numbers a state change: the ledger's lines are numbered 1, 2, 3… with no gaps. */
  private stamp(event: OrchEvent): StampedEvent {
    this.seq += 1;
    return { ...event, seq: this.seq, at: new Date().toISOString() };
  }
}
