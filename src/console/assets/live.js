// What an operation's engine events mean for the person watching: one item per completed
// resource step (with its duration), diagnostics, messages and the summary, plus progress as
// resources done out of the plan's total. Pure: tested in Node on event values. It follows
// the command line's follow view (src/client/follow/progress.rs), which follows the engine's
// event log: a step starts with resourcePreEvent and ends with resOutputsEvent (or
// resOpFailedEvent); summaryEvent closes a run; preludeEvent opens the next one (a retry).

/** Removes the CLI's `<{%fg 1%}>`-style colour directives. */
export function stripColor(text) {
  return String(text ?? '').replace(/<\{%[^%]*%\}>/g, '');
}

/** The last `::` part of a URN (the resource's name). */
export function resourceName(urn) {
  const parts = String(urn ?? '').split('::');
  return parts[parts.length - 1];
}

// Steps that change nothing: they count as progress but get no line.
const QUIET = new Set(['same', 'refresh', 'read']);

export class Progress {
  /** `estimate`: resources the plan holds, when known before the first event. */
  constructor(estimate = null) {
    this.estimate = estimate;
    this.reset();
  }

  reset() {
    /** URN → timestamp (seconds) of its latest resourcePreEvent in this run. */
    this.started = new Map();
    this.done = new Set();
    this.summarized = false;
  }

  /** {done, total} of the current run: the plan's total, or more when the engine starts more. */
  position() {
    const done = this.done.size;
    if (this.summarized) return { done, total: done };
    return { done, total: Math.max(this.estimate || 0, this.started.size, done) };
  }

  /** Folds one stored event (`kind` as the API names it, `payload` its JSON) into items. */
  on(kind, payload) {
    if (kind.startsWith('byoc.')) return [{ type: 'message', text: `byoc: ${byocMessage(kind, payload)}` }];
    const body = payload?.[kind];
    if (!body) return [];
    const at = Number(payload.timestamp) || 0;
    const step = (meta, seconds, extra = {}) => ({ type: 'step', op: meta.op, name: resourceName(meta.urn), resourceType: meta.type, seconds, ...extra });
    switch (kind) {
      case 'preludeEvent':
        this.reset();
        return [{ type: 'activity', text: 'starting the engine' }];
      case 'resourcePreEvent':
        this.started.set(body.metadata.urn, at);
        return [{ type: 'activity', text: `${body.metadata.op} ${resourceName(body.metadata.urn)}` }];
      case 'resOutputsEvent': {
        const meta = body.metadata;
        this.done.add(meta.urn);
        if (QUIET.has(meta.op)) return [];
        const begun = this.started.get(meta.urn);
        const seconds = !body.planning && begun !== undefined ? at - begun : null;
        return [step(meta, seconds, { planned: Boolean(body.planning) })];
      }
      case 'resOpFailedEvent': {
        const meta = body.metadata;
        this.done.add(meta.urn);
        const begun = this.started.get(meta.urn);
        return [step(meta, begun === undefined ? null : at - begun, { failed: true })];
      }
      case 'diagnosticEvent': {
        const message = stripColor(body.message).trim();
        if (body.severity === 'debug' || !message) return [];
        if (body.ephemeral) return [{ type: 'activity', text: message.split('\n')[0] }];
        return [{ type: 'diagnostic', severity: String(body.severity || 'info').split('#')[0], resource: body.urn ? resourceName(body.urn) : null, message }];
      }
      case 'stdoutEvent': {
        const text = stripColor(body.message).trim();
        return text ? [{ type: 'message', text }] : [];
      }
      case 'errorEvent':
        return [{ type: 'diagnostic', severity: 'error', resource: null, message: String(body.error || '') }];
      case 'policyEvent':
        return [{ type: 'diagnostic', severity: body.enforcementLevel === 'mandatory' ? 'error' : 'warning', resource: body.resourceUrn ? resourceName(body.resourceUrn) : null, message: `policy ${stripColor(body.policyName)}: ${stripColor(body.message)}` }];
      case 'progressEvent':
        return [{ type: 'activity', text: stripColor(body.message) }];
      case 'summaryEvent': {
        this.summarized = true;
        const order = (op) => { const i = ['create', 'update', 'replace', 'delete'].indexOf(op); return i >= 0 ? i : op === 'same' ? 9 : 5; };
        const changes = Object.entries(body.resourceChanges || {}).filter(([, n]) => n > 0).sort(([a], [b]) => order(a) - order(b));
        return [{ type: 'summary', changes, seconds: body.durationSeconds ?? null, preview: Boolean(body.isPreview), result: body.result || null }];
      }
      default:
        return [];
    }
  }
}

/** The human part of a byoc event: its `message`, at the top or under the kind. */
function byocMessage(kind, payload) {
  const inner = payload?.[kind];
  const message = payload?.message ?? inner?.message;
  if (typeof message === 'string') return inner?.attempt ? `${message} (attempt ${inner.attempt})` : message;
  return `${kind.slice(5).replace(/-/g, ' ')} ${JSON.stringify(inner ?? payload)}`;
}

/** `created`, `updated`, `deleted`, `replaced`…: an op in the past tense. */
export function pastTense(op) {
  const table = { create: 'created', update: 'updated', delete: 'deleted', replace: 'replaced', same: 'unchanged', refresh: 'refreshed', read: 'read', import: 'imported' };
  return table[op] || op;
}

/** The summary line: `3 created, 10 unchanged` (previews: `3 to create`). */
export function summaryText(item) {
  const parts = item.changes.map(([op, n]) => (item.preview && op !== 'same' ? `${n} to ${op}` : `${n} ${pastTense(op)}`));
  return parts.length ? parts.join(', ') : 'no changes';
}
