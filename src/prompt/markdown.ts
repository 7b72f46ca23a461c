import { Lexer, type Token, type Tokens } from 'marked';
import { isPathLike, normalizeRepoPath, trimPathToken } from './paths.js';
import type { ProseReference } from './types.js';

/** What orch reads from a prompt's markdown body. */
export interface MarkdownFacts {
  firstH1?: string;
  /** Paths from list items under a "Files to Modify"-style heading, in order. */
  fileItems: string[];
  /** Every backticked path-like span outside code blocks. */
  codespanPaths: string[];
  proseRefs: ProseReference[];
}

const FILE_WORD = /\b(files?|paths?)\b/i;
const CHANGE_WORD =
  /\b(modif(y|ies|ied|ying|ications?)|creat(e|es|ed|ing)|chang(e|es|ed|ing)|edit(s|ed|ing)?|updat(e|es|ed|ing)|touch(es|ed)?|targets?|targeted|affected|add(ed)?|new|writ(e|ten)|delet(e|ed)|remov(e|ed)|renam(e|ed)|implement(ation)?)\b/i;
const DEPENDENCY_HEADING = /^(dependencies|dependency|depends on|prerequisites?|blocked by|requires|required tasks?|builds on)$/i;
const PHRASE =
  /\b(depends\s+on|depend\s+on|depending\s+on|dependent\s+on|after|requires|require|blocked\s+by|builds\s+on|build\s+on|built\s+on|building\s+on)\b:?\s+/gi;
// A reference ends where its sentence does: a period followed by space or end, or ; ! ? or a newline.
const SENTENCE_END = /[.!?](?=\s|$)|[;\n]/;

function headingText(raw: string): string {
  return raw
    .replace(/[*_`#:]/g, ' ')
    .replace(/^\s*\d+[.)]\s*/, '')
    .replace(/[^\p{L}\p{N}/\s-]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function isFilesHeading(raw: string): boolean {
  const text = headingText(raw);
  return FILE_WORD.test(text) && CHANGE_WORD.test(text);
}

export function isDependencyHeading(raw: string): boolean {
  return DEPENDENCY_HEADING.test(headingText(raw));
}

type InlineToken = Token & { tokens?: Token[]; text?: string };

/** Backticked spans in inline tokens, in order (recursing into emphasis and links). */
function codespans(tokens: Token[] | undefined): string[] {
  const spans: string[] = [];
  for (const token of tokens ?? []) {
    if (token.type === 'codespan') spans.push((token as Tokens.Codespan).text);
    else spans.push(...codespans((token as InlineToken).tokens));
  }
  return spans;
}

/** Inline tokens as plain words, leaving out backticked spans (they are looked at separately). */
function plainText(tokens: Token[] | undefined): string {
  let text = '';
  for (const token of tokens ?? []) {
    if (token.type === 'codespan') text += ' ';
    else if (token.type === 'text' || token.type === 'escape') {
      const inner = (token as InlineToken).tokens;
      text += inner ? plainText(inner) : ((token as InlineToken).text ?? '');
    } else if ((token as InlineToken).tokens) text += plainText((token as InlineToken).tokens);
    else text += (token as InlineToken).text ?? '';
  }
  return text;
}

/** The block of a list item that holds its own text (not its nested lists). */
function itemLead(item: Tokens.ListItem): (Token & { tokens?: Token[]; text?: string }) | undefined {
  return item.tokens.find((t): t is InlineToken => t.type === 'text' || t.type === 'paragraph');
}

/** The path a "Files to Modify" item names: its backticked path, else its first path-like word. */
function pathOfItem(item: Tokens.ListItem): string | undefined {
  const lead = itemLead(item);
  if (!lead) return undefined;
  for (const span of codespans(lead.tokens)) {
    const candidate = trimPathToken(span);
    if (isPathLike(candidate)) return normalizeRepoPath(candidate);
  }
  for (const word of plainText(lead.tokens ?? []).split(/\s+/)) {
    const candidate = trimPathToken(word.replace(/\*\*/g, ''));
    if (isPathLike(candidate)) return normalizeRepoPath(candidate);
  }
  return undefined;
}

function filePathsOfList(list: Tokens.List): string[] {
  const paths: string[] = [];
  for (const item of list.items) {
    const path = pathOfItem(item);
    if (path !== undefined) {
      paths.push(path);
      continue;
    }
    // An item without a path ("Backend:") may group the paths in its nested list.
    for (const nested of item.tokens) if (nested.type === 'list') paths.push(...filePathsOfList(nested as Tokens.List));
  }
  return paths;
}

/** References introduced by a dependency phrase anywhere in a block of prose. */
function phraseReferences(text: string, explicit: boolean): ProseReference[] {
  const refs: ProseReference[] = [];
  for (const match of text.matchAll(PHRASE)) {
    const rest = text.slice((match.index ?? 0) + match[0].length);
    const end = rest.search(SENTENCE_END);
    const clause = (end === -1 ? rest : rest.slice(0, end)).replace(/\*\*/g, '').trim();
    if (clause) refs.push({ phrase: match[1]!.toLowerCase().replace(/\s+/g, ' '), text: clause, explicit, anywhere: false });
  }
  return refs;
}

/** V8's flag setter (node:v8's setFlagsFromString), when a short-lived command gave it: see lex. */
let setV8Flags: ((flags: string) => void) | undefined;

/**
 * marked's block rules are large regular expressions, which V8 compiles at their first use: by
 * default to bytecode first, then again to machine code at their next use (regexp tier-up). For a
 * short-lived `orch plan` that double compilation was most of the markdown's cost: compiled
 * straight to machine code, 8 short prompts lexed in ~6 ms instead of ~24 ms. `orch plan` gives
 * node:v8's flag setter here; a run does not (loading node:v8 alone took ~1.4 MB of resident memory,
 * and a run's memory counts more than a few milliseconds once).
 */
export function compileMarkdownRulesOnce(setFlags: (flags: string) => void): void {
  setV8Flags = setFlags;
}

/**
 * marked's tokens of a markdown body. With a flag setter (compileMarkdownRulesOnce), V8's regexp
 * tier-up is off only while marked lexes and put back after, so nothing else compiles under it, and
 * V8's flags are as before for the code Node loads later (any changed flag makes V8 refuse the code
 * cache of Node's own modules).
 */
function lex(body: string): Token[] {
  const setFlags = setV8Flags;
  if (!setFlags) return new Lexer({ gfm: true }).lex(body);
  setFlags('--no-regexp-tier-up');
  try {
    return new Lexer({ gfm: true }).lex(body);
  } finally {
    setFlags('--regexp-tier-up');
  }
}

interface Heading {
  depth: number;
  files: boolean;
  dependencies: boolean;
}

export function readMarkdown(body: string): MarkdownFacts {
  const facts: MarkdownFacts = { fileItems: [], codespanPaths: [], proseRefs: [] };
  const stack: Heading[] = [];
  const inFiles = (): boolean => stack.some((h) => h.files);
  const inDependencies = (): boolean => stack.some((h) => h.dependencies);

  // Only a files section's own lists name files; lists nested in their items are descriptions
  // (filePathsOfList already looks into them when an item names no path itself).
  const visitList = (list: Tokens.List, nested: boolean): void => {
    if (inFiles() && !nested) facts.fileItems.push(...filePathsOfList(list));
    for (const item of list.items) {
      const lead = itemLead(item);
      if (lead) {
        collectCodespans(lead.tokens);
        const leadText = (lead.text ?? '').replace(/\*\*/g, '').trim();
        if (inDependencies() && leadText) facts.proseRefs.push({ phrase: '', text: leadText, explicit: true, anywhere: true });
        else facts.proseRefs.push(...phraseReferences(leadText, false));
      }
      for (const child of item.tokens) {
        if (child === lead) continue;
        if (child.type === 'list') visitList(child as Tokens.List, true);
        else visitBlock(child);
      }
    }
  };

  const visitBlock = (token: Token): void => {
    switch (token.type) {
      case 'code':
      case 'html':
      case 'space':
      case 'hr':
        return;
      case 'heading':
        return;
      case 'list':
        visitList(token as Tokens.List, false);
        return;
      case 'blockquote':
        for (const child of (token as Tokens.Blockquote).tokens) visitBlock(child);
        return;
      case 'paragraph':
        collectCodespans((token as InlineToken).tokens);
        facts.proseRefs.push(...phraseReferences((token as InlineToken).text ?? '', inDependencies()));
        return;
      case 'text':
        collectCodespans((token as InlineToken).tokens);
        return;
      case 'table': {
        const table = token as Tokens.Table;
        for (const cell of [...table.header, ...table.rows.flat()]) collectCodespans(cell.tokens);
        return;
      }
      default:
        collectCodespans((token as InlineToken).tokens);
    }
  };

  const collectCodespans = (tokens: Token[] | undefined): void => {
    for (const span of codespans(tokens)) {
      const candidate = trimPathToken(span);
      if (isPathLike(candidate)) facts.codespanPaths.push(normalizeRepoPath(candidate));
    }
  };

  for (const token of lex(body)) {
    if (token.type === 'heading') {
      const heading = token as Tokens.Heading;
      if (heading.depth === 1 && facts.firstH1 === undefined) facts.firstH1 = heading.text.trim();
      while (stack.length > 0 && stack[stack.length - 1]!.depth >= heading.depth) stack.pop();
      stack.push({ depth: heading.depth, files: isFilesHeading(heading.text), dependencies: isDependencyHeading(heading.text) });
      collectCodespans(heading.tokens);
      continue;
    }
    visitBlock(token);
  }
  return facts;
}
