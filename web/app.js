// The explorer page: opens a CSV (file input, drag and drop, or ?csv=URL)
// in the engine's worker, keeps the filter and the what-if scenarios in the
// URL, and re-renders the views when either changes.
//
// Hooks for tests and scripts: <body data-state="empty|loading|ready|error">
// and data-pending (queries scheduled or running; "0" when the page shows
// the current state); the headline tiles' data-kpi / data-value.

import { ExplorerClient } from './explorer.js';
import { el, clear, byTestId } from './dom.js';
import { bytes as showBytes, count, money } from './format.js';
import { loadCatalog, emptyCatalog, defaultScenario, readState, writeState, engineScenario, MAX_SCENARIOS } from './scenario.js';
import { buildHeadline, renderHeadline, renderBySource, renderDaily, renderHourly, renderTop, renderFileInfo } from './views.js';
import { dailyCostChart, hourlyChart } from './charts.js';
import { ScenarioCard } from './whatif.js';

const TOP_N = 10;

const page = {
  client: null,
  catalog: null,
  loaded: false,
  filter: { from: '', to: '', sources: null },
  cards: [],
  charts: {},
  pending: 0,
  timers: new Map(),
  generations: new Map(),
  announcements: new Map(),
  announceTimer: 0,
  loadGeneration: 0,
  ready: null,
  dismissConfirm: null, // answers "no" to the ?csv= confirmation, while it is shown
};

// ---- busy tracking -------------------------------------------------------

function showPending() {
  document.body.dataset.pending = String(page.pending);
  // Screen readers: the figures are being recomputed.
  byTestId('results').setAttribute('aria-busy', String(page.pending > 0));
}

/**
 * Tells screen readers (the polite status region) what changed: the latest
 * message per key (the views, each card), said together once figures settle.
 */
function announce(key, message) {
  page.announcements.set(key, message);
  clearTimeout(page.announceTimer);
  page.announceTimer = setTimeout(() => {
    byTestId('status').textContent = [...page.announcements.values()].join(' ');
    page.announcements.clear();
  }, 250);
}

/** Runs fn after `delay` ms, replacing a run of the same key not yet started. */
function schedule(key, fn, delay = 60) {
  if (page.timers.has(key)) clearTimeout(page.timers.get(key));
  else page.pending += 1;
  showPending();
  page.timers.set(
    key,
    setTimeout(() => {
      page.timers.delete(key);
      fn()
        .catch(showError)
        .finally(() => {
          page.pending -= 1;
          showPending();
        });
    }, delay),
  );
}

/** Drops a scheduled run of `key` not yet started (it will not run). */
function cancel(key) {
  if (!page.timers.has(key)) return;
  clearTimeout(page.timers.get(key));
  page.timers.delete(key);
  page.pending -= 1;
  showPending();
}

/** A token for the latest request under `key`: isLatest() is false once a newer one started. */
function generation(key) {
  const n = (page.generations.get(key) ?? 0) + 1;
  page.generations.set(key, n);
  return { isLatest: () => page.generations.get(key) === n };
}

function setState(state) {
  document.body.dataset.state = state;
}

function showError(error) {
  const box = byTestId('error');
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function hideError() {
  byTestId('error').hidden = true;
}

// ---- loading -------------------------------------------------------------

function showProgress({ stage, loaded, total }) {
  const bar = byTestId('progress');
  const label = byTestId('progress-label');
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

/**
 * Opens { file } or { url } in the engine and shows it as `name`; `origin`:
 * the other site a URL is read from ('' for this page's own, and files).
 */
async function open(source, name, origin = '') {
  const load = ++page.loadGeneration;
  hideError();
  setState('loading');
  byTestId('loading').hidden = false;
  showProgress({ stage: 'reading', loaded: 0, total: source.file?.size ?? 0 });
  page.pending += 1;
  showPending();
  try {
    const { info, bytes, parse_ms: parseMs } = await page.client.open(source, (p) => load === page.loadGeneration && showProgress(p));
    // The scenarios need the catalog; the views do not, so a failed start still shows them.
    await page.ready.catch(() => {});
    if (load !== page.loadGeneration) return;
    showProgress({ stage: 'views' });
    renderFileInfo(name, showBytes(bytes), info);
    byTestId('file-summary').dataset.origin = origin;
    byTestId('file-summary').dataset.parseMs = parseMs.toFixed(1);
    setupFilterControls(info);
    page.loaded = true;
    byTestId('results').hidden = false;
    await refreshAll();
    if (load !== page.loadGeneration) return;
    setState('ready');
  } catch (e) {
    if (load !== page.loadGeneration) return;
    showError(`Could not open ${name}: ${e instanceof Error ? e.message : e}`);
    setState(page.loaded ? 'ready' : 'error');
  } finally {
    if (load === page.loadGeneration) byTestId('loading').hidden = true;
    page.pending -= 1;
    showPending();
  }
}

function openFile(file) {
  if (!file) return;
  page.dismissConfirm?.(); // a file chosen now wins over a ?csv= link still asking
  open({ file }, file.name);
}

function setupLoading() {
  const input = byTestId('file-input');
  input.addEventListener('change', () => {
    openFile(input.files?.[0]);
    input.value = '';
  });
  const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  document.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', (e) => {
    if (!e.relatedTarget) document.body.classList.remove('dragging');
  });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    document.body.classList.remove('dragging');
    openFile(e.dataTransfer.files[0]);
  });
  openCsvParameter().catch(showError);
}

// ---- ?csv=URL ------------------------------------------------------------

/** At most `max` characters of a text the page repeats (a URL can be megabytes long). */
function shorten(text, max = 200) {
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
 * What ?csv= names: { url, name, origin } (origin: null for this page's own)
 * or { error } to show. Only http(s) URLs are read: a data: URL would carry
 * its figures in the link itself.
 */
function csvSource(text) {
  let url;
  try {
    url = new URL(text, location.href);
  } catch {
    return { error: `?csv= is not a URL: ${shorten(text)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { error: `?csv= must be an http: or https: URL; a ${url.protocol} URL is not opened (${shorten(text)}). Open the file with "Open a CSV…" instead.` };
  }
  if (url.username || url.password) return { error: '?csv= must not carry a user name or password.' };
  const origin = url.origin === location.origin ? null : url.origin;
  return { url, name: fileName(url), origin };
}

/**
 * Whether a CSV opens without asking: only from this page's own origin
 * (another port of this machine is another origin, and is asked for too).
 */
function trusted({ origin }) {
  return origin === null;
}

/**
 * Asks, in the page, before reading a CSV from another site: its figures
 * would be shown as if they were the user's, and the site learns of the
 * visit. Resolves true when the user chose to open it.
 */
function confirmSource({ url, name, origin }) {
  return new Promise((resolve) => {
    const answer = (yes) => {
      page.dismissConfirm = null;
      box.remove();
      resolve(yes);
    };
    page.dismissConfirm = () => answer(false);
    const title = el('h2', { id: 'csv-confirm-title', text: 'Open a CSV from another site?' });
    const box = el(
      'section',
      { class: 'card', data: { testid: 'csv-confirm' }, attrs: { role: 'region', 'aria-labelledby': 'csv-confirm-title' }, tabIndex: -1 },
      title,
      el('p', {}, 'This link asks the page to read ', el('strong', { text: name }), ' from ', el('code', { data: { testid: 'csv-confirm-origin' }, text: origin }), ':'),
      el('p', {}, el('code', { class: 'small', text: shorten(url.href, 500) })),
      el('p', { class: 'warning', text: 'Open it only if you trust that site: its figures will be shown here, and it will see that you opened them.' }),
      el(
        'p',
        {},
        el('button', { type: 'button', class: 'button primary', data: { testid: 'csv-confirm-open' }, text: `Open from ${url.host}`, on: { click: () => answer(true) } }),
        ' ',
        el('button', { type: 'button', data: { testid: 'csv-confirm-cancel' }, text: 'Do not open', on: { click: () => answer(false) } }),
      ),
    );
    byTestId('error').before(box);
    box.focus();
  });
}

/** Opens the file that ?csv= names; every problem with the URL is shown on the page, none thrown. */
async function openCsvParameter() {
  const text = new URLSearchParams(location.search).get('csv');
  if (!text) return;
  const source = csvSource(text);
  if (source.error) {
    showError(source.error);
    setState('error');
    return;
  }
  if (!trusted(source) && !(await confirmSource(source))) return;
  const label = source.origin === null ? source.name : `${source.name} — from ${source.origin}`;
  await open({ url: source.url.href }, label, source.origin ?? '');
}

// ---- filter --------------------------------------------------------------

function engineFilter() {
  const { from, to, sources } = page.filter;
  return sources === null ? { from, to } : { from, to, sources };
}

function setupFilterControls(info) {
  const from = byTestId('filter-from');
  const to = byTestId('filter-to');
  for (const box of [from, to]) {
    box.min = info.first_day;
    box.max = info.last_day;
  }
  fitDaysToFile(info);
  if (page.filter.sources) {
    const known = page.filter.sources.filter((s) => info.sources.includes(s));
    page.filter.sources = known.length || page.filter.sources.length === 0 ? known : null;
  }
  const list = clear(byTestId('filter-sources'));
  for (const source of info.sources) {
    const box = el('input', { type: 'checkbox', value: source, data: { testid: 'filter-source' }, on: { change: readSourceBoxes } });
    list.append(el('label', { class: 'check' }, box, ' ', el('code', { text: source })));
  }
  showFilter();
}

/**
 * A newly opened file keeps the filter's days only where they fall within its
 * own days; a bound outside them (from an earlier file, or a shared URL) is
 * cleared, and the page says so.
 */
function fitDaysToFile(info) {
  const note = byTestId('filter-note');
  note.hidden = true;
  if (!info.first_day || !info.last_day) return;
  const outside = (day) => day && (day < info.first_day || day > info.last_day);
  const cleared = ['from', 'to'].filter((key) => outside(page.filter[key]));
  if (cleared.length === 0) return;
  const was = cleared.map((key) => `${key === 'from' ? 'From' : 'To'} ${page.filter[key]}`).join(', ');
  for (const key of cleared) page.filter[key] = '';
  note.textContent = `The date filter (${was}) was outside this file's days, ${info.first_day} to ${info.last_day}, and was cleared.`;
  note.hidden = false;
  saveState();
}

/** Says when the days cannot match anything (from after to). */
function checkDays() {
  const { from, to } = page.filter;
  const wrong = !!(from && to && from > to);
  const box = byTestId('filter-error');
  box.textContent = wrong ? `"From" (${from}) is after "To" (${to}): no conversation can match. Change one of them.` : '';
  box.hidden = !wrong;
  for (const key of ['from', 'to']) byTestId(`filter-${key}`).setAttribute('aria-invalid', String(wrong));
}

function showFilter() {
  byTestId('filter-from').value = page.filter.from;
  byTestId('filter-to').value = page.filter.to;
  checkDays();
  for (const box of document.querySelectorAll('[data-testid="filter-source"]')) {
    box.checked = page.filter.sources === null || page.filter.sources.includes(box.value);
  }
}

function readSourceBoxes() {
  const boxes = [...document.querySelectorAll('[data-testid="filter-source"]')];
  const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
  page.filter.sources = chosen.length === boxes.length ? null : chosen;
  filterChanged();
}

function filterChanged() {
  checkDays();
  byTestId('filter-note').hidden = true;
  saveState();
  if (page.loaded) schedule('all', refreshAll);
}

function setupFilter() {
  for (const key of ['from', 'to']) {
    byTestId(`filter-${key}`).addEventListener('change', (e) => {
      page.filter[key] = e.target.value;
      filterChanged();
    });
  }
  byTestId('filter-reset').addEventListener('click', () => {
    page.filter = { from: '', to: '', sources: null };
    showFilter();
    filterChanged();
  });
}

// ---- views and scenarios -------------------------------------------------

async function refreshViews() {
  const token = generation('views');
  const views = await page.client.views(engineFilter(), TOP_N);
  if (!token.isLatest()) return;
  renderHeadline(byTestId('headline'), views.headline);
  renderBySource(byTestId('by-source'), views);
  renderDaily(byTestId('daily-table'), views);
  renderHourly(byTestId('hourly-table'), views);
  renderTop(byTestId('top10'), views);
  announce('views', `Figures updated: ${count(views.headline.records)} conversations, total cost ${money(views.headline.total_cost)}.`);
  // Charts draw in their own tasks, so the page answers input in between.
  await nextTask();
  if (!token.isLatest()) return;
  page.charts.daily.update(views);
  await nextTask();
  if (!token.isLatest()) return;
  page.charts.hourly.update(views);
}

/** Lets the browser handle input and paint before the next piece of work. */
function nextTask() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function refreshCard(card) {
  if (!page.loaded || card.destroyed || !card.valid) return;
  const token = generation(`card-${card.id}`);
  // Shown only while it is still the card's latest request, the card is on
  // the page, and its prices are still the ones sent.
  const scenario = card.scenario;
  const current = () => token.isLatest() && !card.destroyed && card.valid && card.scenario === scenario;
  try {
    const result = await page.client.whatif(engineFilter(), engineScenario(scenario, page.catalog));
    if (current()) {
      card.showError('');
      card.render(result);
      announce(`card-${card.id}`, `${card.name} re-priced: ${money(result.whatif_cost)}.`);
    }
  } catch (e) {
    if (current()) card.fail(e.message);
  }
}

function refreshAll() {
  return Promise.all([refreshViews(), ...page.cards.map(refreshCard)]);
}

function saveState() {
  const hash = writeState({ scenarios: page.cards.map((c) => c.scenario), filter: page.filter });
  history.replaceState(history.state, '', `${location.pathname}${location.search}#${hash}`);
}

function placeCards() {
  page.cards.forEach((card, i) => card.setPlace(i, page.cards.length));
  byTestId('add-scenario').disabled = page.cards.length >= MAX_SCENARIOS;
}

function addCard(scenario) {
  const card = new ScenarioCard(page.catalog, scenario, {
    onChange: (c, { typing }) => {
      if (c.destroyed) return;
      saveState();
      // While prices are typed, wait for a pause; a picked model re-prices at once.
      schedule(`card-${c.id}`, () => refreshCard(c), typing ? 120 : 0);
    },
    onRemove: (c) => {
      page.cards = page.cards.filter((x) => x !== c);
      dropCard(c);
      placeCards();
      saveState();
    },
    onExport: (c) => exportCsv(c).catch(showError),
  });
  page.cards.push(card);
  byTestId('scenarios').append(card.root);
  placeCards();
  return card;
}

/** Takes a card off the page for good: its pending refresh is dropped, a running one is ignored. */
function dropCard(card) {
  const key = `card-${card.id}`;
  cancel(key);
  page.generations.delete(key);
  page.announcements.delete(key);
  card.destroy();
}

async function exportCsv(card) {
  if (!page.loaded) return;
  const data = await page.client.whatifCsv(engineFilter(), engineScenario(card.scenario, page.catalog));
  const url = URL.createObjectURL(new Blob([data], { type: 'text/csv;charset=utf-8' }));
  const slug = card.scenario.model.replace(/[^A-Za-z0-9.]+/g, '-').replace(/^-|-$/g, '');
  const name = `tally-whatif-${slug || 'custom'}${card.scenario.batch ? '-batch' : ''}.csv`;
  const link = el('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Applies the URL's hash: scenarios (the default one when none) and filter. */
function applyHash() {
  const { scenarios, filter } = readState(location.hash, page.catalog);
  page.filter = filter;
  for (const card of page.cards) dropCard(card);
  page.cards = [];
  for (const s of scenarios.length ? scenarios : [defaultScenario(page.catalog)]) addCard(s);
  showFilter();
  saveState();
  if (page.loaded) schedule('all', refreshAll);
}

function setupScenarios() {
  byTestId('add-scenario').addEventListener('click', () => {
    const last = page.cards.at(-1);
    const card = addCard(last ? { ...last.scenario } : defaultScenario(page.catalog));
    saveState();
    schedule(`card-${card.id}`, () => refreshCard(card), 0);
  });
  window.addEventListener('hashchange', applyHash);
}

// ---- start ---------------------------------------------------------------

/**
 * The price catalog: a catalog that cannot be used leaves custom prices only,
 * and says so in the what-if section (the rest of the page does not need it).
 */
async function setupCatalog() {
  let error = null;
  try {
    page.catalog = await loadCatalog();
  } catch (e) {
    error = e;
    page.catalog = { ...emptyCatalog(), dropped: e.dropped ?? [] };
  }
  const { models, unit, as_of: asOf, dropped, warnings } = page.catalog;
  byTestId('catalog-note').textContent = error
    ? 'Prices: web/prices.json could not be used; enter custom prices (USD per 1,000 tokens).'
    : `Prices: web/prices.json, ${models.length} models, ${typeof unit === 'string' ? unit : 'per 1K tokens'}, as of ${typeof asOf === 'string' ? asOf : '?'}.`;
  const box = byTestId('catalog-error');
  box.textContent = error ? `The price catalog could not be used: ${error.message}. Custom prices still work.` : '';
  box.hidden = !error;
  renderCatalogProblems(byTestId('catalog-problems'), dropped, warnings);
}

/** The catalog entries left out, and other catalog problems, listed (as text). */
function renderCatalogProblems(root, dropped, warnings) {
  clear(root).hidden = dropped.length === 0 && warnings.length === 0;
  if (dropped.length) {
    root.append(
      el('p', { class: 'warning', text: `${dropped.length} ${dropped.length === 1 ? 'entry' : 'entries'} of the price catalog could not be used and ${dropped.length === 1 ? 'is' : 'are'} not offered:` }),
      el('ul', { data: { testid: 'catalog-dropped' } }, dropped.map(({ entry, reason }) => el('li', {}, el('code', { text: entry }), `: ${reason}`))),
    );
  }
  for (const warning of warnings) root.append(el('p', { class: 'warning', text: `Price catalog: ${warning}.` }));
}

/** The price catalog, the filter controls and the scenario cards. */
async function setupExplorer() {
  await setupCatalog();
  setupFilter();
  setupScenarios();
  applyHash();
}

function main() {
  setState('empty');
  buildHeadline(byTestId('headline'));
  page.charts.daily = dailyCostChart(byTestId('daily-chart'));
  page.charts.hourly = hourlyChart(byTestId('hourly-chart'));
  page.client = new ExplorerClient();
  page.client.version().then(
    (v) => (byTestId('engine-version').textContent = `engine ${v}`),
    (e) => showError(`The engine could not start: ${e.message} (is web/pkg/ built? run scripts/build-wasm.sh)`),
  );
  // A file can be chosen at once; showing it waits for the catalog (open() awaits page.ready,
  // which resolves even when the catalog cannot be used).
  page.pending += 1;
  showPending();
  page.ready = setupExplorer();
  page.ready
    .catch((e) => {
      showError(e.message);
      setState('error');
    })
    .finally(() => {
      page.pending -= 1;
      showPending();
    });
  setupLoading();
}

main();
