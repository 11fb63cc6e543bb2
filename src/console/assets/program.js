// The rendered Pulumi YAML program: how many resources it declares (the progress bar's total
// for a deploy or a preview). Pure, tested in Node.

/**
 * Counts the keys of the top-level `resources:` mapping. The document is byoc's own rendering
 * (block style, one key per line), so the direct children are the lines indented exactly as
 * deep as the first one. Returns null when the document has no `resources:` mapping.
 */
export function countResources(yaml) {
  const lines = yaml.split('\n');
  const start = lines.findIndex((l) => /^resources:\s*$/.test(l));
  if (start < 0) return null;
  let indent = null;
  let count = 0;
  for (const line of lines.slice(start + 1)) {
    if (!line.trim() || /^\s*#/.test(line)) continue;
    const depth = line.length - line.trimStart().length;
    if (depth === 0) break;
    if (indent === null) indent = depth;
    if (depth === indent && /^\s*("[^"]*"|'[^']*'|[^\s#'"][^:]*):(\s|$)/.test(line)) count += 1;
  }
  return count;
}

/**
 * The resources an operation steps through, to size its progress bar before any event: a
 * deploy or preview steps through every resource of the program (plus the stack itself).
 * Refresh and destroy step through what the stack holds: unknown here (the bar then grows as
 * the engine starts steps), as in the command line's follow view.
 */
export function planSize(kind, programYaml) {
  if ((kind !== 'update' && kind !== 'preview') || !programYaml) return null;
  const n = countResources(programYaml);
  return n === null ? null : n + 1;
}

/** Resources a stack holds after a change with this summary: every step but deletions. */
export function resourcesAfter(summary) {
  if (!summary || typeof summary !== 'object') return null;
  return Object.entries(summary).filter(([op]) => op !== 'delete').reduce((n, [, v]) => n + (Number(v) || 0), 0);
}
