// The explorer page's wiring: opens a CSV (file input, drag and drop, or
// ?csv=URL) in the engine's worker, keeps the filter and the what-if
// scenarios in the URL, and tells the views (views.js, trends.js, costs.js,
// accuracy.js, charts.js, whatif.js, ranking.js, opening.js) when to render
// what; it renders nothing itself.
//
// Hooks for tests and scripts: <body data-state="empty|loading|ready|error">
// and data-pending (the work in flight, counted by busy.js: "0" when the page
// shows the current state); the headline tiles' data-kpi / data-value.

import { Busy } from './busy.js';
import { ExplorerClient } from './explorer.js';
import { el, byTestId } from './dom.js';
import { bytes as showBytes, count, readableMoney } from './format.js';
import { loadCatalog, emptyCatalog, emptyFilter, cheapestFor, defaultScenario, firstCandidates, fromModel, readState, writeState, engineScenario, isMapping, MAX_SCENARIOS } from './scenario.js';
import { ESTIMATED, buildHeadline, hoursOfDay, renderFileInfo, renderKeyChoices, renderSourceChoices, renderSuggestions, renderViews } from './views.js';
import { buildGrouping, buildPresets, markUnit, periodTitle, renderGrouping, renderPresets, renderTrendTable, sumPeriods, trendRange, unitFor } from './trends.js';
import { isIsoDay, presetRange, previousRange } from './periods.js';
import { renderRanking } from './ranking.js';
import { clearCosts, renderCosts } from './costs.js';
import { clearAccuracy, renderAccuracy } from './accuracy.js';
import { dailyCostChart, errorHistogramChart, hourlyChart } from './charts.js';
import { ScenarioCard, renderCatalog } from './whatif.js';
import { askToOpen, csvSource, renderProgress, renderSharedLink, trusted } from './opening.js';

const TOP_N = 10;
/** Users, bots or models shown in their tables; conversations in "differ most". */
const TOP_GROUPS = 20;
const TOP_DIFFERENT = 10;
/** A breakdown's rows as the engine ranks them: the most expensive first. */
const BY_COST = { key: 'cost', descending: true };

/** The page's state: every piece of it lives here or in a scenario card. */
const page = {
  busy: null,
  client: null,
  catalog: null,
  loaded: false,
  filter: emptyFilter(),
  grouping: 'auto', // the trends' grouping: 'auto' (by the range's length), 'day', 'week' or 'month'
  badDays: { from: '', to: '' }, // a date box's text that is not a day (not applied)
  info: null, // the open file's Explorer.info()
  views: null, // the latest Explorer.views() shown
  detail: false, // the open file has the detail columns (bot, model, recorded and billed prices)
  file: null, // what the scenario cards need of the open file: { detail, models }
  costs: {}, // the latest breakdown shown, by 'user' | 'bot' | 'model': { breakdown, search }
  sorts: { user: BY_COST, bot: BY_COST, model: BY_COST },
  userSearch: '',
  cards: [],
  nextCardId: 1,
  charts: {},
  generations: new Map(),
  announcements: new Map(),
  announceTimer: 0,
  loadGeneration: 0,
  ready: null,
  dismissConfirm: null, // answers "no" to the ?csv= confirmation, while it is shown
  autoScenario: false, // the one card is the page's own choice (the link held none, none was touched): each file chooses it again
};

// ---- work in flight ------------------------------------------------------

/** Shows how much work is in flight (Busy calls it on every change). */
function showPending(pending) {
  document.body.dataset.pending = String(pending);
  // Screen readers: the figures are being recomputed.
  byTestId('results').setAttribute('aria-busy', String(pending > 0));
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
  page.busy.later(key, fn, delay, showError);
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

function showProgress(progress) {
  renderProgress(byTestId('loading'), progress);
}

/**
 * Opens { file } or { url } in the engine and shows it as `name`; `origin`:
 * the other site a URL is read from ('' for this page's own, and files).
 * The whole of it, views included, is one piece of work in flight.
 */
function open(source, name, origin = '') {
  return page.busy.run(() => load(source, name, origin));
}

async function load(source, name, origin) {
  const mine = ++page.loadGeneration;
  const latest = () => mine === page.loadGeneration;
  hideError();
  setState('loading');
  byTestId('loading').hidden = false;
  showProgress({ stage: 'reading', loaded: 0, total: source.file?.size ?? 0 });
  // The stages of an open, on the page's timeline (bench/browser/run.mjs reads them).
  performance.mark('tally:open');
  try {
    const { info, bytes, parse_ms: parseMs } = await page.client.open(source, (p) => latest() && showProgress(p));
    performance.mark('tally:parsed');
    // The scenarios need the catalog; the views do not, so a failed start still shows them.
    await page.ready.catch(() => {});
    if (!latest()) return;
    showProgress({ stage: 'views' });
    renderFileInfo(byTestId('results'), { name, size: showBytes(bytes), origin, parseMs, info });
    page.info = info;
    page.detail = info.detail;
    page.file = { detail: info.detail, models: info.models };
    for (const card of page.cards) card.setFile(page.file);
    // Should the candidates not be priced, the list price's choice stays.
    await chooseFirstScenario(latest).catch(() => {});
    if (!latest()) return;
    setupFilterControls(info);
    showRealCost(info.detail);
    page.loaded = true;
    byTestId('results').hidden = false;
    await refreshAll();
    if (!latest()) return;
    setState('ready');
    performance.mark('tally:ready');
  } catch (e) {
    if (!latest()) return;
    showError(`Could not open ${name}: ${e instanceof Error ? e.message : e}`);
    setState(page.loaded ? 'ready' : 'error');
  } finally {
    if (latest()) byTestId('loading').hidden = true;
  }
}

/**
 * The first scenario, while it is the page's own choice (the link held none,
 * and no card was touched since): the catalog model cheapest for the file
 * just opened, every candidate priced over the whole file in one engine pass
 * (none when the catalog leaves one candidate). It is not written in the
 * URL (saveState): a reload chooses again.
 */
async function chooseFirstScenario(latest) {
  if (!page.autoScenario || page.cards.length !== 1) return;
  const models = firstCandidates(page.catalog);
  if (models.length < 2) return;
  const totals = await page.client.whatifTotals({}, models.map((m) => engineScenario(fromModel(m, false), page.catalog)));
  const best = cheapestFor(models, totals);
  // A newer file, or a card touched meanwhile, decides instead.
  if (!latest() || !page.autoScenario || page.cards.length !== 1 || !best || best.id === page.cards[0].scenario.model) return;
  dropCard(page.cards[0]);
  page.cards = [];
  addCard(fromModel(best, false));
  page.autoScenario = true; // still the page's choice: the next file chooses again
  saveState();
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

/** Asks before reading another site's CSV (opening.js); resolves true when the user agreed. */
function confirmSource(source) {
  const { answer, dismiss } = askToOpen(byTestId('error'), source);
  page.dismissConfirm = dismiss;
  return answer.finally(() => {
    if (page.dismissConfirm === dismiss) page.dismissConfirm = null;
  });
}

/** Opens the file that ?csv= names; every problem with the URL is shown on the page, none thrown. */
async function openCsvParameter() {
  const text = new URLSearchParams(location.search).get('csv');
  if (!text) return;
  const source = csvSource(text, location.href);
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
  const { from, to, sources, user, bot, model } = page.filter;
  const spec = { from, to };
  if (sources !== null) spec.sources = sources;
  if (user !== null) spec.users = [user];
  if (bot !== null) spec.bots = [bot];
  if (model !== null) spec.models = [model];
  return spec;
}

function setupFilterControls(info) {
  const from = byTestId('filter-from');
  const to = byTestId('filter-to');
  // The file's days, as the boxes' hints: an empty box is unbounded.
  from.placeholder = info.first_day || 'YYYY-MM-DD';
  to.placeholder = info.last_day || 'YYYY-MM-DD';
  fitDaysToFile(info);
  if (page.filter.sources) {
    const known = page.filter.sources.filter((s) => info.sources.includes(s));
    page.filter.sources = known.length || page.filter.sources.length === 0 ? known : null;
  }
  renderSourceChoices(byTestId('filter-sources'), info.sources, readSourceBoxes);
  fitKeysToFile(info);
  showFilter();
}

/**
 * The bot and model choices of a detail CSV (none for others); a bot or
 * model the file does not have is dropped from the filter (a user is kept:
 * the page does not list them all).
 */
function fitKeysToFile(info) {
  renderKeyChoices(byTestId('filter-bot'), info.bots, { all: 'All bots', none: '(no bot)' });
  renderKeyChoices(byTestId('filter-model'), info.models, { all: 'All models', none: '(no model)' });
  byTestId('filter-bot-box').hidden = !info.detail;
  byTestId('filter-model-box').hidden = !info.detail;
  const unknown = [['bot', info.bots], ['model', info.models]].filter(([key, names]) => page.filter[key] !== null && !names.includes(page.filter[key]));
  for (const [key] of unknown) page.filter[key] = null;
  if (unknown.length) saveState();
}

/** Selects `name` in a bot or model <select> (the first choice, "all", for null). */
function showKeyChoice(select, name) {
  const at = [...select.options].findIndex((o) => !('all' in o.dataset) && o.value === name);
  select.selectedIndex = name === null ? 0 : at;
}

/** The bot or model a <select> chose: null for "all". */
function chosenKey(select) {
  const option = select.selectedOptions[0];
  return !option || 'all' in option.dataset ? null : option.value;
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

/** Says when a date box holds no day (not applied), or the days cannot match anything (from after to). */
function checkDays() {
  const { from, to } = page.filter;
  const bad = ['from', 'to'].filter((key) => page.badDays[key] !== '');
  const after = !!(from && to && from > to);
  const box = byTestId('filter-error');
  const name = { from: '"From"', to: '"To"' };
  box.textContent = bad.length
    ? bad.map((key) => `${name[key]} (${page.badDays[key]}) is not a day written YYYY-MM-DD, e.g. 2026-11-01: it is not applied.`).join(' ')
    : after
      ? `"From" (${from}) is after "To" (${to}): no conversation can match. Change one of them.`
      : '';
  box.hidden = !box.textContent;
  for (const key of ['from', 'to']) byTestId(`filter-${key}`).setAttribute('aria-invalid', String(bad.includes(key) || (!bad.length && after)));
  showPresets();
}

/** Which date preset the filter's days are (and which the file's days allow). */
function showPresets() {
  if (!page.info) return;
  renderPresets(byTestId('presets'), { first: page.info.first_day, last: page.info.last_day, from: page.filter.from, to: page.filter.to });
}

/** A preset's days (relative to the file's last day with data) into the filter. */
function pickPreset(name) {
  if (!page.info) return;
  const range = presetRange(name, page.info.first_day, page.info.last_day);
  if (!range) return;
  page.badDays = { from: '', to: '' };
  page.filter.from = range.from;
  page.filter.to = range.to;
  showFilter();
  filterChanged();
}

function showFilter() {
  for (const key of ['from', 'to']) byTestId(`filter-${key}`).value = page.badDays[key] || page.filter[key];
  checkDays();
  for (const box of document.querySelectorAll('[data-testid="filter-source"]')) {
    box.checked = page.filter.sources === null || page.filter.sources.includes(box.value);
  }
  byTestId('filter-user').value = page.filter.user ?? '';
  showKeyChoice(byTestId('filter-bot'), page.filter.bot);
  showKeyChoice(byTestId('filter-model'), page.filter.model);
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
    const box = byTestId(`filter-${key}`);
    // Days are written YYYY-MM-DD, whatever the browser's locale: a whole day (or nothing) applies as it is
    // typed; any other text is said when the box is left, and not applied.
    box.addEventListener('input', () => {
      const text = box.value.trim();
      if (text !== '' && !isIsoDay(text)) return;
      page.badDays[key] = '';
      if (text === page.filter[key]) return checkDays();
      page.filter[key] = text;
      filterChanged();
    });
    box.addEventListener('change', () => {
      const text = box.value.trim();
      page.badDays[key] = text !== '' && !isIsoDay(text) ? text : '';
      checkDays();
    });
  }
  buildPresets(byTestId('presets'), pickPreset);
  byTestId('filter-user').addEventListener('change', (e) => {
    page.filter.user = e.target.value.trim() || null;
    filterChanged();
  });
  for (const key of ['bot', 'model']) {
    byTestId(`filter-${key}`).addEventListener('change', (e) => {
      page.filter[key] = chosenKey(e.target);
      filterChanged();
    });
  }
  byTestId('user-search').addEventListener('input', (e) => {
    page.userSearch = e.target.value.trim();
    if (page.loaded) schedule('costs-user', () => refreshCosts('user'), 120);
  });
  byTestId('filter-reset').addEventListener('click', () => {
    page.filter = emptyFilter();
    page.badDays = { from: '', to: '' };
    showFilter();
    filterChanged();
  });
}

// ---- views and scenarios -------------------------------------------------

/**
 * The period of equal length just before the filter's days, which the
 * headline is compared with: only for a range that starts on a day (the
 * "To" bound, or the file's last day, ends it) and whose previous period
 * holds days of the file; else null.
 */
function previousPeriod() {
  const { from } = page.filter;
  const info = page.info;
  if (!from || !info?.first_day) return null;
  const to = page.filter.to || info.last_day;
  if (from > to) return null;
  const previous = previousRange(from, to);
  return previous.to < info.first_day ? null : previous;
}

async function refreshViews() {
  const token = generation('views');
  const filter = engineFilter();
  const previous = previousPeriod();
  const [views, before] = await Promise.all([
    page.client.views(filter, TOP_N),
    previous ? page.client.headline({ ...filter, from: previous.from, to: previous.to }) : null,
  ]);
  if (!token.isLatest()) return;
  page.views = views;
  const comparison = before ? { previous: before, ...previous } : null;
  renderViews(byTestId('results'), views, comparison);
  const h = views.headline;
  announce('views', `Figures updated: ${count(h.records)} items (${count(h.conversations)} conversations), total cost ${readableMoney(h.total_cost)} (${ESTIMATED}).`);
  const trend = showTrend();
  // Charts draw in tasks of their own, so the page answers input in between.
  await page.busy.task(() => token.isLatest() && page.charts.daily.update(trend));
  await page.busy.task(() => token.isLatest() && page.charts.hourly.update(hoursOfDay(views.hourly)));
}

/**
 * The cost per period (the grouping chosen, or auto) of the views shown: its
 * table now; returns what the chart draws.
 */
function showTrend() {
  const views = page.views;
  const range = trendRange(page.filter, views.daily, fileSpan());
  const unit = unitFor(page.grouping, range);
  const periods = sumPeriods(views.daily, unit, range, { money: ['total_cost'], counts: ['records'], lists: ['cost_by_source'], width: views.sources.length });
  const root = byTestId('trends');
  markUnit(root, unit, page.grouping);
  renderGrouping(byTestId('grouping'), { grouping: page.grouping, unit });
  renderTrendTable(byTestId('daily-table'), views, periods, unit);
  return { sources: views.sources, periods, unit, titles: periods.map((p) => periodTitle(p, unit)) };
}

/** The open file's first and last day with data (the trends' periods stay within them). */
function fileSpan() {
  return { first: page.info?.first_day ?? '', last: page.info?.last_day ?? '' };
}

/** The trends' grouping chosen: the page's chart, table and every card regroup the figures they have. */
function setGrouping(grouping) {
  page.grouping = grouping;
  saveState();
  for (const card of page.cards) card.regroup(grouping);
  if (!page.views) {
    renderGrouping(byTestId('grouping'), { grouping, unit: grouping === 'auto' ? 'day' : grouping });
    return;
  }
  const trend = showTrend();
  page.busy.task(() => page.charts.daily.update(trend)).catch(showError);
}

async function refreshCard(card) {
  if (!page.loaded || card.destroyed) return;
  const token = generation(`card-${card.id}`);
  // The engine's answer on the card's prices (maybe still on its way) decides whether they can be priced.
  await card.checked;
  if (!token.isLatest() || card.destroyed || !card.valid) return;
  // Shown only while it is still the card's latest request, the card is on
  // the page, and its prices are still the ones sent.
  const scenario = card.scenario;
  const current = () => token.isLatest() && !card.destroyed && card.valid && card.scenario === scenario;
  try {
    const days = { from: page.filter.from, to: page.filter.to };
    const result = await page.client.whatif(engineFilter(), engineScenario(scenario, page.catalog));
    if (current()) {
      card.showError('');
      card.render(result, { grouping: page.grouping, ...days, span: fileSpan() });
      announce(`card-${card.id}`, `${card.name} re-priced: ${readableMoney(result.whatif_cost)}.`);
    }
  } catch (e) {
    if (current()) card.fail(e.message);
  }
}

// ---- who and what costs ---------------------------------------------------

/** Shows the bot, model and accuracy sections for a detail CSV; for another file, hides and empties them. */
function showRealCost(detail) {
  for (const id of ['cost-by-bot', 'cost-by-model', 'accuracy']) byTestId(id).hidden = !detail;
  if (detail) return;
  for (const by of ['bot', 'model']) {
    generation(`costs-${by}`); // an answer still on its way is not shown
    delete page.costs[by];
    clearCosts(byTestId(`cost-by-${by}`), by);
  }
  generation('accuracy');
  clearAccuracy(byTestId('accuracy'));
}

/** Cost by user, bot or model (`by`) under the filter; by user, the search box's text too. */
async function refreshCosts(by) {
  const token = generation(`costs-${by}`);
  const search = by === 'user' ? page.userSearch : '';
  let breakdown;
  try {
    breakdown = await page.client.breakdown(engineFilter(), by, TOP_GROUPS, search);
  } catch (e) {
    // Asked of a file that has since been replaced by one without bots and models: nothing to show.
    if (token.isLatest() && (by === 'user' || page.detail)) throw e;
    return;
  }
  if (!token.isLatest()) return;
  page.costs[by] = { breakdown, search };
  showCosts(by);
  if (by === 'user') renderSuggestions(byTestId('user-suggestions'), breakdown.groups.map((g) => g.key));
}

/** The latest breakdown `by`, in the order its table is sorted; a click on a key filters the page to it. */
function showCosts(by) {
  renderCosts(byTestId(`cost-by-${by}`), {
    ...page.costs[by],
    sort: page.sorts[by],
    onSort: (sort) => {
      page.sorts[by] = sort;
      showCosts(by);
    },
    onPick: (key) => {
      page.filter[by] = key;
      showFilter();
      filterChanged();
    },
  });
}

/** Recorded vs estimated under the filter (a detail CSV): its figures, then its chart in a task of its own. */
async function refreshAccuracy() {
  const token = generation('accuracy');
  let accuracy;
  try {
    accuracy = await page.client.accuracy(engineFilter(), TOP_DIFFERENT);
  } catch (e) {
    if (token.isLatest() && page.detail) throw e;
    return;
  }
  if (!token.isLatest()) return;
  renderAccuracy(byTestId('accuracy'), accuracy);
  await page.busy.task(() => token.isLatest() && page.charts.histogram.update(accuracy));
}

function refreshRealCost() {
  const detail = page.detail ? [refreshCosts('bot'), refreshCosts('model'), refreshAccuracy()] : [];
  return Promise.all([refreshCosts('user'), ...detail]);
}

function refreshAll() {
  return Promise.all([refreshViews(), refreshRealCost(), ...page.cards.map(refreshCard)]);
}

/** The scenarios ranked (ranking.js), from each card's latest figures; a click on one shows its card. */
function showRanking() {
  renderRanking(byTestId('ranking'), {
    rows: page.cards.map((card) => ({ name: card.name, label: card.label, result: card.shownResult })),
    onShow: (index) => showSection(page.cards[index]?.root),
  });
}

/** Scrolls a section (or card) into view and moves the focus there, without touching the URL (its hash is the state). */
function showSection(node) {
  if (!node) return;
  if (!node.hasAttribute('tabindex')) node.tabIndex = -1;
  node.scrollIntoView({ block: 'start' });
  node.focus({ preventScroll: true });
}

/** The section nav: each link shows its section (its href is a fragment, which must not replace the hash). */
function setupNav() {
  byTestId('section-nav').addEventListener('click', (e) => {
    const link = e.target.closest('a[data-section]');
    if (!link) return;
    e.preventDefault();
    showSection(byTestId(link.dataset.section));
  });
}

function saveState() {
  // The page's own first scenario is not written: a reload, or a link opened elsewhere, chooses it again for its file.
  const scenarios = page.autoScenario ? [] : page.cards.map((c) => c.scenario);
  const hash = writeState({ scenarios, filter: page.filter, group: page.grouping });
  history.replaceState(history.state, '', `${location.pathname}${location.search}#${hash}`);
}

function placeCards() {
  page.cards.forEach((card, i) => card.setPlace(i, page.cards.length));
  byTestId('add-scenario').disabled = page.cards.length >= MAX_SCENARIOS;
  showRanking();
}

function addCard(scenario) {
  const card = new ScenarioCard(page.nextCardId++, page.catalog, scenario, {
    checkPrices: (texts) => page.client.plainPrices(texts),
    work: (fn) => page.busy.run(fn),
    onChange: (c, { typing }) => {
      if (c.destroyed) return;
      page.autoScenario = false;
      saveState();
      // While prices are typed, wait for a pause; a picked model re-prices at once.
      schedule(`card-${c.id}`, () => refreshCard(c), typing ? 120 : 0);
    },
    onRemove: (c) => {
      page.autoScenario = false;
      page.cards = page.cards.filter((x) => x !== c);
      dropCard(c);
      placeCards();
      saveState();
    },
    onExport: (c) => exportCsv(c).catch(showError),
    onFigures: (c) => c.destroyed || showRanking(),
  });
  if (page.file) card.setFile(page.file);
  page.cards.push(card);
  byTestId('scenarios').append(card.root);
  placeCards();
  return card;
}

/** Takes a card off the page for good: its pending refresh is dropped, a running one is ignored. */
function dropCard(card) {
  const key = `card-${card.id}`;
  page.busy.cancel(key);
  page.generations.delete(key);
  page.announcements.delete(key);
  card.destroy();
}

async function exportCsv(card) {
  if (!page.loaded) return;
  const data = await page.client.whatifCsv(engineFilter(), engineScenario(card.scenario, page.catalog));
  const url = URL.createObjectURL(new Blob([data], { type: 'text/csv;charset=utf-8' }));
  const slug = isMapping(card.scenario) ? 'by-model' : card.scenario.model.replace(/[^A-Za-z0-9.]+/g, '-').replace(/^-|-$/g, '');
  const name = `tally-whatif-${slug || 'custom'}${card.scenario.batch ? '-batch' : ''}.csv`;
  const link = el('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Applies the URL's hash: scenarios (the default one when none) and filter; the latest hash wins. */
async function applyHash() {
  const token = generation('hash');
  const { scenarios, filter, group } = await readState(location.hash, page.catalog, (texts) => page.client.plainPrices(texts));
  if (!token.isLatest()) return;
  // A link without its file says what it holds, and asks for the file.
  renderSharedLink(byTestId('shared-link'), { scenarios, filter, group, catalog: page.catalog, withFile: new URLSearchParams(location.search).has('csv') });
  page.filter = filter;
  page.badDays = { from: '', to: '' };
  if (group !== page.grouping) {
    page.grouping = group;
    for (const card of page.cards) card.regroup(group);
  }
  for (const card of page.cards) dropCard(card);
  page.cards = [];
  for (const s of scenarios.length ? scenarios : [defaultScenario(page.catalog)]) addCard(s);
  page.autoScenario = scenarios.length === 0;
  showFilter();
  saveState();
  if (page.loaded) schedule('all', refreshAll);
}

function setupScenarios() {
  byTestId('add-scenario').addEventListener('click', () => {
    page.autoScenario = false;
    const last = page.cards.at(-1);
    const card = addCard(last ? { ...last.scenario } : defaultScenario(page.catalog));
    saveState();
    schedule(`card-${card.id}`, () => refreshCard(card), 0);
  });
  window.addEventListener('hashchange', () => page.busy.run(applyHash).catch(showError));
}

// ---- start ---------------------------------------------------------------

/**
 * The price catalog, checked by the engine: a catalog that cannot be used
 * leaves custom prices only, and says so in the what-if section (the rest of
 * the page does not need it).
 */
async function setupCatalog() {
  let error = null;
  try {
    page.catalog = await loadCatalog((text) => page.client.catalog(text));
  } catch (e) {
    error = e;
    page.catalog = emptyCatalog(await page.client.defaultBatchMultiplier());
  }
  renderCatalog(byTestId('whatif'), { catalog: page.catalog, error });
}

/** The price catalog, the filter controls and the scenario cards. */
async function setupExplorer() {
  await setupCatalog();
  setupFilter();
  buildGrouping(byTestId('grouping'), setGrouping);
  renderGrouping(byTestId('grouping'), { grouping: page.grouping, unit: 'day' });
  setupScenarios();
  await applyHash();
}

function main() {
  page.busy = new Busy(showPending);
  setState('empty');
  buildHeadline(byTestId('headline'));
  page.charts.daily = dailyCostChart(byTestId('daily-chart'));
  page.charts.hourly = hourlyChart(byTestId('hourly-chart'));
  page.charts.histogram = errorHistogramChart(byTestId('accuracy-histogram'));
  page.client = new ExplorerClient(undefined, { busy: page.busy });
  page.client.version().then(
    (v) => (byTestId('engine-version').textContent = `engine ${v}`),
    (e) => showError(`The engine could not start: ${e.message} (is web/pkg/ built? run scripts/build-wasm.sh)`),
  );
  // A file can be chosen at once; showing it waits for the catalog (open() awaits page.ready,
  // which resolves even when the catalog cannot be used).
  page.ready = page.busy.run(setupExplorer);
  page.ready.catch((e) => {
    showError(e.message);
    setState('error');
  });
  setupNav();
  setupLoading();
}

main();
