/** A prompt file's text split into its frontmatter's data and its body. */
export interface SplitPrompt {
  data: Record<string, unknown>;
  body: string;
}

/**
 * The split of a text that has no frontmatter (it does not start with `---`, a BOM aside): no
 * data, the whole text as the body, as gray-matter answers for it (frontmatter.ts). undefined
 * for a text that may have frontmatter: that one is frontmatter.ts's to split, with the YAML
 * parser (~300 KB of code), which `orch plan` and `orch run` then load only when a prompt has some.
 */
export function splitWithoutFrontmatter(text: string): SplitPrompt | undefined {
  const content = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return content.startsWith('---') ? undefined : { data: {}, body: content };
}
