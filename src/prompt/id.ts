/**
 * Task ids end up in paths (`worktrees/<run>/<id>`, `logs/<id>.jsonl`) and branch names
 * (`orch/<run>/<id>`), so they are reduced to a safe alphabet: an id such as `../x` can never
 * escape a directory or form an invalid ref.
 */
export const MAX_ID_LENGTH = 80;

export function sanitizeId(raw: string): string {
  return raw
    .normalize('NFKC')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/-{2,}/g, '-')
    .replace(/^[.-]+/, '')
    .replace(/\.lock$/i, '-lock')
    .slice(0, MAX_ID_LENGTH)
    .replace(/[.-]+$/, '');
}

/** The id a prompt file gets when its frontmatter does not set one: its name without `.md`. */
export function idFromFileName(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  return base.replace(/\.(md|markdown)$/i, '');
}
