// Following an operation's events over SSE (GET /api/v1/operations/{id}/events with
// Accept: text/event-stream). fetch() rather than EventSource: every event name reaches us
// (the stream names events by engine kind, and EventSource drops names nobody listens to),
// and a dropped connection is resumed with Last-Event-ID from the last event handed on, so
// nothing is repeated or lost. Takes its fetch function, so Node tests drive it.

/** Splits SSE text into complete frames; returns [frames, rest]. */
export function parseFrames(buffer) {
  const frames = [];
  const blocks = buffer.replace(/\r\n?/g, '\n').split('\n\n');
  const rest = blocks.pop();
  for (const block of blocks) {
    const frame = { id: null, event: 'message', data: [] };
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') frame.id = value;
      else if (field === 'event') frame.event = value;
      else if (field === 'data') frame.data.push(value);
    }
    if (frame.data.length || frame.id !== null) frames.push({ ...frame, data: frame.data.join('\n') });
  }
  return [frames, rest];
}

/**
 * Follows `url` until the server sends `end`. Calls `onEvent({seq, kind, payload})` once per
 * event in order, `onState('live'|'reconnecting'|'ended', detail)`, and resolves with the
 * `end` event's data. `stop()` on the returned handle ends it early.
 */
export function follow(url, { onEvent, onState = () => {}, fetchFn = fetch, after = 0, retryMs = [500, 1000, 2000, 5000] }) {
  let last = after;
  let stopped = false;
  let controller = null;
  let attempt = 0;
  const done = (async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const headers = { Accept: 'text/event-stream' };
        if (last > 0) headers['Last-Event-ID'] = String(last);
        const response = await fetchFn(url, { headers, credentials: 'same-origin', cache: 'no-store', signal: controller.signal });
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          const problem = await response.json().catch(() => ({}));
          throw Object.assign(new Error(problem.detail || `HTTP ${response.status}`), { status: response.status, final: true });
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onState('live');
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done: finished } = await reader.read();
          if (finished) break;
          attempt = 0;
          buffer += decoder.decode(value, { stream: true });
          const [frames, rest] = parseFrames(buffer);
          buffer = rest;
          for (const frame of frames) {
            if (frame.event === 'end') {
              onState('ended');
              return safeJson(frame.data);
            }
            if (frame.event === 'error') throw new Error(safeJson(frame.data)?.detail || 'the stream failed');
            const seq = Number(frame.id);
            // After a resume the server starts after Last-Event-ID; anything at or before the
            // last event handed on is dropped all the same.
            if (!Number.isFinite(seq) || seq <= last) continue;
            last = seq;
            onEvent({ seq, kind: frame.event, payload: safeJson(frame.data) });
          }
        }
        throw new Error('the connection closed before the operation ended');
      } catch (e) {
        if (stopped) return null;
        if (e.final) { onState('failed', e); throw e; }
        onState('reconnecting', e);
        const wait = retryMs[Math.min(attempt, retryMs.length - 1)];
        attempt += 1;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    return null;
  })();
  return {
    done,
    last: () => last,
    stop() { stopped = true; controller?.abort(); },
  };
}

function safeJson(text) {
  try { return JSON.parse(text); } catch { return null; }
}
