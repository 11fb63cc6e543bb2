// Which pages this server can back: a page names the API route it needs, and appears only when
// the server's OpenAPI document lists that route (approvals, drift and labels are gated so).
// A page for an API that does not exist yet (rollouts) is added to the route table with its
// route and shows up the day the server grows it, without a console change elsewhere.

let known = null;
let doc = null;

/** Reads the server's OpenAPI document once. */
export async function loadFeatures() {
  if (known) return;
  try {
    const response = await fetch('/api/openapi.json', { credentials: 'same-origin' });
    doc = await response.json();
    known = new Set(Object.keys(doc.paths || {}));
  } catch {
    known = new Set();
  }
}

/** Whether the API has route `path` (as written in the OpenAPI document); no need: true. */
export function available(path) {
  return !path || (known !== null && known.has(path));
}

/** The server's OpenAPI document (field descriptions and enums for the config form), or null. */
export function openapi() {
  return doc;
}
