/** A phrase in a prompt's prose that may name another task ("depends on X", a Dependencies list item). */
export interface ProseReference {
  /** The text that follows the phrase (or the whole list item under a Dependencies heading). */
  text: string;
  /** The phrase that introduced it, e.g. "depends on"; empty for a Dependencies list item. */
  phrase: string;
  /** True under a Dependencies heading or when the reference was quoted: unmatched ones are warned about. */
  explicit: boolean;
  /** When true, any task key anywhere in `text` counts (a list item under a Dependencies heading). */
  anywhere: boolean;
}

/** One prompt file, parsed on its own (references to other tasks are resolved later, in graph/). */
export interface PromptSpec {
  /** The path as the user gave it (relative to the working directory). */
  file: string;
  absPath: string;
  id: string;
  title: string;
  /** The markdown without frontmatter: what the agent is asked to do. */
  body: string;
  /** Frontmatter `depends_on` entries, as written. */
  dependsOn: string[];
  proseRefs: ProseReference[];
  /** Paths and globs the task will touch: its "Files to Modify" list plus frontmatter `files`. */
  files: string[];
  /** Other backticked paths in the text: shown by `plan`, never used for conflicts. */
  mentions: string[];
  priority: number;
  timeoutMs?: number;
  maxTurns?: number;
  model?: string;
  warnings: string[];
}
