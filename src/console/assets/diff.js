// Comparing two config versions: both are flattened to JSON-pointer → value pairs, and the
// pairs that differ are listed (added, removed, changed). Pure functions, tested in Node.

/** Flattens a JSON value into [pointer, JSON text] pairs (RFC 6901 pointers). */
export function flatten(value, pointer = '', out = new Map()) {
  if (value !== null && typeof value === 'object' && Object.keys(value).length) {
    for (const [key, child] of Object.entries(value)) {
      flatten(child, `${pointer}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
    }
  } else {
    out.set(pointer || '/', JSON.stringify(value));
  }
  return out;
}

/** What changed from `a` to `b`: [{pointer, kind: 'added'|'removed'|'changed', from, to}], by pointer. */
export function diff(a, b) {
  const left = flatten(a);
  const right = flatten(b);
  const pointers = [...new Set([...left.keys(), ...right.keys()])].sort(comparePointers);
  const changes = [];
  for (const pointer of pointers) {
    const from = left.get(pointer);
    const to = right.get(pointer);
    if (from === to) continue;
    const kind = from === undefined ? 'added' : to === undefined ? 'removed' : 'changed';
    changes.push({ pointer, kind, from, to });
  }
  return changes;
}

/** Orders pointers segment by segment, array indices numerically (/a/2 before /a/10). */
export function comparePointers(x, y) {
  const a = x.split('/');
  const b = y.split('/');
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    const [na, nb] = [Number(a[i]), Number(b[i])];
    if (a[i] !== '' && b[i] !== '' && Number.isInteger(na) && Number.isInteger(nb)) return na - nb;
    return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}
