// Opening a CSV: what a ?csv= link names and whether it may open without
// asking, the question asked in the page before another site's file is read,
// what a shared link without its file holds, and the progress of a load. app.js decides when; these only read their
// arguments and render into the element they are given.

import { el, byTestId, clear } from './dom.js';
import { bytes as showBytes, count } from './format.js';
import { scenarioLabel } from './catalog.js';
import { isEmptyFilter } from './scenario.js';

/** At most `max` characters of a text the page repeats (a URL can be megabytes long). */
export function shorten(text, max = 200) {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A URL's last path segment, decoded for display (as it is when its percent-encoding is malformed). */
function fileName(url) {
  const last = url.pathname.split('/').pop();
  if (!last) return url.href;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/**
 * What ?csv= (`text`, relative to the page's `base` URL) names: { url, name,
 * origin } (origin: null for the page's own) or { error } to show. Only
 * http(s) URLs are read: a data: URL would carry its figures in the link itself.
 */
export function csvSource(text, base) {
  let url;
  try {
    url = new URL(text, base);
  } catch {
    return { error: `?csv= is not a URL: ${shorten(text)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { error: `?csv= must be an http: or https: URL; a ${url.protocol} URL is not opened (${shorten(text)}). Open the file with "Open a CSV…" instead.` };
  }
  if (url.username || url.password) return { error: '?csv= must not carry a user name or password.' };
  const origin = url.origin === new URL(base).origin ? null : url.origin;
  return { url, name: fileName(url), origin };
}

/**
 * Whether a CSV opens without asking: only from this page's own origin
 * (another port of this machine is another origin, and is asked for too).
 */
export function trusted({ origin }) {
  return origin === null;
}

/**
 * Asks, in the page (before `anchor`), before reading a CSV from another
 * site: its figures would be shown as if they were the user's, and the site
 * learns of the visit. Returns { answer, dismiss }: answer resolves true when
 * the user chose to open it; dismiss() answers "no" (a file chosen meanwhile wins).
 */
export function askToOpen(anchor, { url, name, origin }) {
  let box;
  let dismiss;
  const answer = new Promise((resolve) => {
    const reply = (yes) => {
      box.remove();
      resolve(yes);
    };
    dismiss = () => reply(false);
    box = el(
      'section',
      { class: 'card', data: { testid: 'csv-confirm' }, attrs: { role: 'region', 'aria-labelledby': 'csv-confirm-title' }, tabIndex: -1 },
      el('h2', { id: 'csv-confirm-title', text: 'Open a CSV from another site?' }),
      el('p', {}, 'This link asks the page to read ', el('strong', { text: name }), ' from ', el('code', { data: { testid: 'csv-confirm-origin' }, text: origin }), ':'),
      el('p', {}, el('code', { class: 'small', text: shorten(url.href, 500) })),
      el('p', { class: 'warning', text: 'Open it only if you trust that site: its figures will be shown here, and it will see that you opened them.' }),
      el(
        'p',
        {},
        el('button', { type: 'button', class: 'button primary', data: { testid: 'csv-confirm-open' }, text: `Open from ${url.host}`, on: { click: () => reply(true) } }),
        ' ',
        el('button', { type: 'button', data: { testid: 'csv-confirm-cancel' }, text: 'Do not open', on: { click: () => reply(false) } }),
      ),
    );
  });
  anchor.before(box);
  box.focus();
  return { answer, dismiss };
}

/** A load's progress into `root` (its progress bar and label): { stage, loaded, total }. */
export function renderProgress(root, { stage, loaded, total }) {
  const bar = byTestId('progress', root);
  const label = byTestId('progress-label', root);
  // `total` can be short of the bytes read (a compressed Content-Length): the bar stops at full.
  if (stage === 'reading' && total > 0) {
    bar.max = total;
    bar.value = Math.min(loaded, total);
    label.textContent = loaded <= total ? `Reading ${showBytes(loaded)} of ${showBytes(total)}…` : `Reading ${showBytes(loaded)}…`;
  } else {
    bar.removeAttribute('value');
    label.textContent = stage === 'reading' ? `Reading ${showBytes(loaded)}…` : stage === 'parsing' ? `Parsing ${showBytes(total)}…` : 'Computing views…';
  }
}

/** A filter's parts in words: ["days 2025-01-01 to the file's last", "sources old_table", ...]. */
function filterParts(filter) {
  const parts = [];
  if (filter.from || filter.to) parts.push(`days ${filter.from || "the file's first"} to ${filter.to || "the file's last"}`);
  if (filter.sources) parts.push(filter.sources.length ? `source${filter.sources.length === 1 ? '' : 's'} ${filter.sources.join(', ')}` : 'no source');
  if (filter.user !== null) parts.push(`user ${filter.user}`);
  if (filter.bot !== null) parts.push(filter.bot ? `bot ${filter.bot}` : 'no bot');
  if (filter.model !== null) parts.push(filter.model ? `model ${filter.model}` : 'no model');
  return parts;
}

/**
 * What a shared link holds when no file comes with it (no ?csv=), into
 * `root` (data-testid shared-link, in the empty state): its scenarios, filter
 * and grouping, and a request for the file they were made from; hidden when
 * the hash holds none of them, or a ?csv= names the file (`withFile`).
 * data-scenarios: how many scenarios; data-filter: "1" when it has a filter.
 */
export function renderSharedLink(root, { scenarios, filter, group, catalog, withFile }) {
  const filtered = !isEmptyFilter(filter);
  const grouped = group !== 'auto';
  clear(root);
  root.hidden = withFile || (scenarios.length === 0 && !filtered && !grouped);
  root.dataset.scenarios = String(scenarios.length);
  root.dataset.filter = filtered ? '1' : '0';
  if (root.hidden) return;
  const held = [];
  if (scenarios.length) held.push(`${count(scenarios.length)} scenario${scenarios.length === 1 ? '' : 's'}`);
  if (filtered) held.push('a filter');
  if (grouped) held.push(`trends by ${group}`);
  root.append(
    el('h2', { id: 'shared-link-title', text: 'This link holds a view, not its file' }),
    el('p', { text: `It holds ${held.join(', ')}, but the file's figures stay on the machine that opened it: open the CSV this view was made from (Open a CSV…, or drop it on the page) to see them.` }),
  );
  if (scenarios.length) {
    root.append(el('ul', { class: 'shared-scenarios' }, scenarios.map((s, i) => el('li', { data: { testid: 'shared-scenario' } }, el('strong', { text: `Scenario ${i + 1}: ` }), scenarioLabel(catalog, s)))));
  }
  const parts = filterParts(filter);
  if (parts.length) root.append(el('p', { data: { testid: 'shared-filter' } }, 'Filter: ', parts.join('; '), '.'));
}
