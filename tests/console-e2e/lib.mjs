// What the walkthrough needs around the browser: a TCP proxy it can cut (a dropped
// connection), a page on another origin of the same site (a forged cross-site POST), the
// browser itself, and checks every page must pass.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

/** A TCP proxy in front of `upstream` (http://127.0.0.1:PORT); `cut()` drops every connection. */
export async function startProxy(upstream) {
  const target = new URL(upstream);
  const sockets = new Set();
  const server = net.createServer((down) => {
    const up = net.connect(Number(target.port), target.hostname);
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut() {
      for (const s of sockets) s.destroy();
    },
    close() {
      this.cut();
      server.close();
    },
  };
}

/**
 * A page on another port of the same host: the same site (ports do not split sites, so the
 * browser sends the SameSite=Strict cookie along) but another origin — the sibling-subdomain
 * attacker that the CSRF checks are for. It auto-submits a form POST to `target`.
 */
export async function startForger(target, [name, value]) {
  // enctype=text/plain sends `name=value`: split so that the `=` lands inside a JSON string.
  const page = `<!doctype html><title>forger</title>
<form id="f" method="POST" action="${target}" enctype="text/plain">
<input type="hidden" name='${name}' value='${value}'>
</form><script>document.getElementById('f').submit()</script>`;
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(page);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

/** Chromium with a fresh profile (removed by `close`). */
export async function launch(executablePath) {
  const profile = mkdtempSync(path.join(tmpdir(), 'byoc-console-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1366, height: 900 },
    colorScheme: 'dark',
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Everything a person can read or copy on the page: text, values of inputs, attributes. */
export async function pageContent(page) {
  return page.evaluate(() => {
    const values = [...document.querySelectorAll('input, textarea, select')].map((e) => e.value);
    return `${document.documentElement.outerHTML}\n${document.body.innerText}\n${values.join('\n')}`;
  });
}

/** Every form control has a label (a <label for>, a wrapping label or aria-label). */
export async function assertLabelled(page, where) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')))
    .map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(unlabelled, [], `${where}: controls without a label`);
}

/** Asserts none of `secrets` appears anywhere on the page. */
export async function assertAbsent(page, secrets, where) {
  const content = await pageContent(page);
  for (const [name, value] of Object.entries(secrets)) {
    if (!value) continue;
    assert.ok(!content.includes(value), `${where}: the page shows the ${name}`);
  }
}

/**
 * Every visible piece of text meets WCAG AA contrast against the background it sits on
 * (4.5:1, or 3:1 for large text); disabled controls are exempt, as WCAG exempts them.
 */
export async function assertContrast(page, where) {
  const failures = await page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const ch = (v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return parse(getComputedStyle(document.body).backgroundColor) || { r: 255, g: 255, b: 255 };
    };
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    while (walker.nextNode()) {
      const el = walker.currentNode.parentElement;
      if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
      seen.add(el);
      if (el.closest('[hidden], .visually-hidden, button:disabled, select:disabled, option, noscript')) continue;
      const box = el.getBoundingClientRect();
      if (!box.width || !box.height) continue;
      const style = getComputedStyle(el);
      const fg = parse(style.color);
      if (!fg) continue;
      const [a, b] = [lum(fg), lum(background(el))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) out.push(`${ratio.toFixed(2)}: ${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}"`);
    }
    return out;
  });
  assert.deepEqual(failures, [], `${where}: text below WCAG AA contrast`);
}
