// Opening a CSV: what a ?csv= link names and whether it may open without
// asking, the question asked in the page before another site's file is read,
// and the progress of a load. app.js decides when; these only read their
// arguments and render into the element they are given.

import { el, byTestId } from './dom.js';
import { bytes as showBytes } from './format.js';

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
