// Labels as the pages edit them: one `key=value` per line (or comma-separated). The API
// validates keys and values (Kubernetes rules) and answers each mistake with its field; this
// only splits the text. Pure functions: tests/console-e2e/unit/approval.test.mjs.

/** `{tier: 'gold'}` → `tier=gold` (one per line, in key order). */
export function formatLabels(labels) {
  return Object.keys(labels || {}).sort().map((k) => `${k}=${labels[k]}`).join('\n');
}

/**
 * The text split into a label set: `{labels, errors}`, errors naming the line. Blank lines
 * are skipped; a key given twice is an error (the page would otherwise drop one silently).
 */
export function parseLabels(text) {
  const labels = {};
  const errors = [];
  const parts = String(text || '').split(/[\n,]/);
  parts.forEach((raw) => {
    const part = raw.trim();
    if (!part) return;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      errors.push(`"${part}": write key=value`);
      return;
    }
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (Object.prototype.hasOwnProperty.call(labels, key)) {
      errors.push(`"${key}" is given twice`);
      return;
    }
    labels[key] = value;
  });
  return { labels, errors };
}
