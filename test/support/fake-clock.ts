import type { Clock } from '../../src/engine/clock.js';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
  every?: number;
}

/**
 * A clock the test moves by hand: `advance(ms)` fires every timer that falls due, in order, each
 * at its own time. Nothing else moves time, so backoffs, pauses and heartbeats are exact.
 */
export class FakeClock implements Clock {
  private time: number;
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(start = Date.parse('2026-01-01T00:00:00.000Z')) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  after(ms: number, callback: () => void): () => void {
    return this.add({ id: this.nextId++, at: this.time + Math.max(0, ms), callback });
  }

  every(ms: number, callback: () => void): () => void {
    return this.add({ id: this.nextId++, at: this.time + ms, callback, every: ms });
  }

  /** Timers still waiting (for tests that check nothing is left behind). */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing what falls due, and lets the work they start settle. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.time = due.at;
      if (due.every) due.at += due.every;
      else this.timers = this.timers.filter((timer) => timer !== due);
      due.callback();
      await settle();
    }
    this.time = target;
    await settle();
  }

  private add(timer: Timer): () => void {
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((candidate) => candidate !== timer);
    };
  }
}

/** Lets promise chains and the file I/O they wait for run (the store writes real files). */
export async function settle(rounds = 20): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise((resolve) => setTimeout(resolve, 1));
}
