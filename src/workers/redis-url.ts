import { UserError } from '../errors.js';

/** A Redis URL checked for shape, with the form that may be shown (password replaced). */
export interface RedisTarget {
  /** The URL as given: holds the credentials, so it is only ever handed to the client. */
  url: string;
  /** The same URL with its password replaced by `***`: the only form orch prints, logs or stores. */
  redacted: string;
  tls: boolean;
  /** `host:port/db`: names the server in messages. */
  where: string;
}

const SCHEMES = new Map([
  ['redis:', false],
  ['rediss:', true],
]);

/** Replaces the password of a URL-shaped string with `***`; text that is no URL is returned as is. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (!url.password) return text;
    url.password = '***';
    return url.toString();
  } catch {
    return text;
  }
}

/**
 * Parses the `--workers` / `--connect` URL: `redis://[user:password@]host[:port][/db]`, or
 * `rediss://` for TLS. Anything else is a one-line usage error that never shows the password.
 */
export function parseRedisUrl(text: string, flag: string): RedisTarget {
  const shown = redactUrl(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`${flag} "${shown}" is not a URL: give one like redis://host:6379 (or rediss:// for TLS).`);
  }
  const tls = SCHEMES.get(url.protocol);
  if (tls === undefined) {
    throw new UserError(`${flag} "${shown}" is not a Redis URL: it must start with redis:// (or rediss:// for TLS).`);
  }
  if (!url.hostname) throw new UserError(`${flag} "${shown}" names no host: give one like redis://host:6379.`);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) {
    throw new UserError(`${flag} "${shown}": the path must be a database number (redis://host:6379/0), not "/${db}".`);
  }
  const port = url.port || '6379';
  return { url: text, redacted: shown, tls, where: `${url.hostname}:${port}${db ? `/${db}` : ''}` };
}

/** Removes every occurrence of the URL's password from a message (errors from the client may quote it). */
export function scrubSecret(message: string, target: RedisTarget): string {
  let password: string;
  try {
    password = decodeURIComponent(new URL(target.url).password);
  } catch {
    return message;
  }
  if (!password) return message;
  return message.split(password).join('***').split(encodeURIComponent(password)).join('***');
}

/** The settings as a run keeps them on disk: the workers' URL without its password. */
export function withoutSecrets<T extends Record<string, unknown>>(input: T): T {
  const workers = input.workers;
  if (typeof workers !== 'object' || workers === null || Array.isArray(workers)) return input;
  const url = (workers as Record<string, unknown>).url;
  if (typeof url !== 'string') return input;
  return { ...input, workers: { ...workers, url: redactUrl(url) } };
}
