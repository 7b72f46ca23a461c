import { EXIT } from './domain/exit-codes.js';

/**
 * Expected failures caused by the user's input or environment. The CLI prints the message as a
 * single line (no stack trace) and exits with `exitCode`; anything else that is thrown is a bug.
 */
export class UserError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT.usage) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });

/** The code of a Node system error (ENOENT, ENOSPC…), if it is one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = error.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The first line of an error's message: git's errors go on for a page after the line that matters. */
export function errorFirstLine(error: unknown): string {
  return errorMessage(error).trim().split('\n')[0] ?? '';
}

/** Filesystem failures that are the environment's, not a bug: full disk, no permission, read-only. */
const ENVIRONMENT_FS_ERRORS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the filesystem is read-only',
  ENOTDIR: 'a path component is not a directory',
};

/** A UserError for an environment failure while doing `what`, or undefined for anything else. */
export function environmentError(error: unknown, what: string, hint: string): UserError | undefined {
  const code = errorCode(error);
  const meaning = code ? ENVIRONMENT_FS_ERRORS[code] : undefined;
  return meaning ? new UserError(`${what}: ${meaning} (${code}); ${hint}`) : undefined;
}
