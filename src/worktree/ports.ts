import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorCode } from '../errors.js';
import { isAlive } from '../process/process-info.js';
import type { ProcessIdentity } from '../process/process-info.js';

const FIRST_PORT = 20_000;
const LAST_PORT = 60_000;

/** Where reservations live: shared by every orch run of this user on the machine. */
export function portsDir(): string {
  return path.join(tmpdir(), 'orch-ports');
}

interface Reservation {
  owner: ProcessIdentity;
  runId: string;
  taskId: string;
}

/** Whether the port can be bound right now (on every interface). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function readReservation(file: string): Promise<Reservation | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Reservation;
  } catch {
    return undefined;
  }
}

/** Claims one port's reservation file; a reservation whose owner is gone is taken over. */
async function claim(dir: string, port: number, reservation: Reservation): Promise<boolean> {
  const file = path.join(dir, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(JSON.stringify(reservation));
      await handle.close();
      return true;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
      const current = await readReservation(file);
      if (current && isAlive(current.owner)) return false;
      await unlink(file).catch(() => undefined);
    }
  }
  return false;
}

async function releaseOne(dir: string, port: number, owner: ProcessIdentity): Promise<void> {
  const file = path.join(dir, String(port));
  const current = await readReservation(file);
  if (current && current.owner.pid === owner.pid && current.owner.startTime === owner.startTime) await unlink(file).catch(() => undefined);
}

/**
 * A block of `count` consecutive ports that nobody is listening on and no other running orch
 * task holds (a reservation file per port under `portsDir()`, checked by binding).
 */
export async function reservePorts(
  count: number,
  owner: ProcessIdentity,
  runId: string,
  taskId: string,
  options: { dir?: string; random?: () => number } = {},
): Promise<number[]> {
  if (count <= 0) return [];
  const dir = options.dir ?? portsDir();
  const random = options.random ?? Math.random;
  await mkdir(dir, { recursive: true });
  const span = LAST_PORT - FIRST_PORT - count;
  const start = FIRST_PORT + Math.floor(random() * span);
  for (let offset = 0; offset < span; offset += count) {
    const first = FIRST_PORT + ((start - FIRST_PORT + offset) % span);
    const block = Array.from({ length: count }, (_, index) => first + index);
    const claimed: number[] = [];
    let ok = true;
    for (const port of block) {
      if ((await claim(dir, port, { owner, runId, taskId })) && (await bindable(port))) claimed.push(port);
      else {
        ok = false;
        await releaseOne(dir, port, owner);
        break;
      }
    }
    if (ok) return block;
    for (const port of claimed) await releaseOne(dir, port, owner);
  }
  throw new Error(`no block of ${count} free ports between ${FIRST_PORT} and ${LAST_PORT}`);
}

/** Takes back the reservations (an adopted task's ports, now owned by this orchestrator). */
export async function reclaimPorts(
  ports: readonly number[],
  owner: ProcessIdentity,
  runId: string,
  taskId: string,
  dir: string = portsDir(),
): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const port of ports) {
    const file = path.join(dir, String(port));
    const current = await readReservation(file);
    if (current && isAlive(current.owner) && current.runId !== runId) continue;
    await unlink(file).catch(() => undefined);
    await claim(dir, port, { owner, runId, taskId });
  }
}

export async function releasePorts(ports: readonly number[], owner: ProcessIdentity, dir: string = portsDir()): Promise<void> {
  for (const port of ports) await releaseOne(dir, port, owner);
}
