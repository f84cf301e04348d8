// The explorer's views of Explorer.views() and .info(): each a function of
// (root, data) that renders into the element it is given and holds no state
// (the page decides when; the charts, which keep theirs, are in charts.js;
// the trends' table is in trends.js). Every CSV-derived value goes in as
// text (dom.js); exact values ride along in data-value attributes for tests
// and scripts, and money reads at people's precision with the exact value in
// its title.

import { el, clear, byTestId } from './dom.js';
import { count, groupDigits, money as exactMoney, percent } from './format.js';
import { percentChange } from './decimal.js';
import { foldable, keyText, moneyText } from './tables.js';

const MAX_UNREADABLE_SHOWN = 200;

/** Said of money that is the seed's estimate (total_price), wherever it is shown. */
export const ESTIMATED = "estimated by the Lambdas' rules";

/**
 * The headline tiles: [data-kpi, label, kind]. `records` and `avg_cost` are
 * the run statistics' total_records and average_cost_per_record (every row);
 * the conversations' figures leave the other items out.
 */
const KPIS = [
  ['conversations', 'Conversations', 'count'],
  ['avg_cost_per_conversation', 'Average cost per conversation', 'money'],
  ['total_cost', 'Total cost', 'money'],
  ['records', 'Items (every row)', 'count'],
  ['avg_cost', 'Average cost per item', 'money'],
  ['input_tokens', 'Input tokens', 'count'],
  ['output_tokens', 'Output tokens', 'count'],
  ['total_tokens', 'Total tokens', 'count'],
];

/**
 * Every table view of an Explorer.views() result, into the parts of `root`
 * that hold them (data-testid headline, by-source, hourly-table, top10);
 * `comparison`: the previous period's figures (renderHeadline), or null.
 */
export function renderViews(root, views, comparison = null) {
  renderHeadline(byTestId('headline', root), views.headline, comparison);
  renderBySource(byTestId('by-source', root), views);
  renderHourly(byTestId('hourly-table', root), views);
  renderTop(byTestId('top10', root), views);
}

/** The filter's source checkboxes into `root`, one per source (its name as text); onChange on each change. */
export function renderSourceChoices(root, sources, onChange) {
  clear(root).append(
    ...sources.map((source) =>
      el('label', { class: 'check' }, el('input', { type: 'checkbox', value: source, data: { testid: 'filter-source' }, on: { change: onChange } }), ' ', el('code', { text: source })),
    ),
  );
}

/**
 * A filter's choices of one bot or model into the <select> `root`: `all`
 * first (any), then each name as text, by name; the empty name reads `none`.
 */
export function renderKeyChoices(root, names, { all, none }) {
  const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  clear(root).append(el('option', { text: all, data: { all: '' } }), ...sorted.map((name) => el('option', { value: name, text: name || none })));
}

/** Names offered as a text box's suggestions, into the <datalist> `root`. */
export function renderSuggestions(root, names) {
  clear(root).append(...names.filter(Boolean).map((name) => el('option', { value: name })));
}

/** Builds the headline tiles once (and the note on the other items); renderHeadline fills them. */
export function buildHeadline(root) {
  clear(root);
  for (const [key, label, kind] of KPIS) {
    root.append(
      el(
        'div',
        { class: 'kpi', data: { kpi: key, value: '', ...(kind === 'money' ? { basis: 'estimated' } : {}) } },
        el('div', { class: 'kpi-label', text: label }),
        el('div', { class: 'kpi-value', text: '–' }),
        kind === 'money' ? el('div', { class: 'kpi-basis', text: ESTIMATED }) : null,
        el('div', { class: 'kpi-change', hidden: true, data: { testid: 'kpi-change' } }),
      ),
    );
  }
  root.append(el('p', { class: 'muted small headline-note', hidden: true, data: { testid: 'other-items-note', value: '' } }));
}

/** A tile's value as it reads: a count with thousands separators, or money (exact in its title). */
function shown(kind, value) {
  return kind === 'money' ? moneyText(String(value)) : count(value);
}

/**
 * The headline figures into the tiles buildHeadline made. `comparison`:
 * { previous: the previous period's headline, from, to, days } (each tile
 * then says its change: "+12.3 % vs the previous 30 days"), or null.
 */
export function renderHeadline(root, headline, comparison = null) {
  for (const [key, , kind] of KPIS) {
    const tile = root.querySelector(`[data-kpi="${key}"]`);
    tile.dataset.value = String(headline[key]);
    clear(tile.querySelector('.kpi-value')).append(shown(kind, headline[key]));
    renderChange(tile.querySelector('.kpi-change'), kind, headline[key], comparison, key);
  }
  const note = byTestId('other-items-note', root);
  const others = headline.other_items;
  note.dataset.value = String(others);
  note.hidden = others === 0;
  note.textContent =
    others === 0
      ? ''
      : `${count(others)} ${others === 1 ? 'item is' : 'items are'} not a conversation (#BOT#, #RELATED_DOCUMENT#, …): counted apart, in the items and the totals, and left out of the cost per conversation.`;
}

/** One tile's change against the previous period of equal length. */
function renderChange(node, kind, value, comparison, key) {
  node.hidden = !comparison;
  if (!comparison) {
    delete node.dataset.value;
    return;
  }
  const before = comparison.previous[key];
  const change = percentChange(String(value), String(before));
  const period = `the previous ${count(comparison.days)} day${comparison.days === 1 ? '' : 's'}`;
  Object.assign(node.dataset, { value: change, previous: String(before), from: comparison.from, to: comparison.to });
  node.classList.toggle('up', change !== '' && !change.startsWith('-') && /[1-9]/.test(change));
  node.classList.toggle('down', change.startsWith('-'));
  node.title = `${period[0].toUpperCase()}${period.slice(1)}, ${comparison.from} to ${comparison.to}: ${kind === 'money' ? exactMoney(String(before)) : count(before)}`;
  clear(node);
  if (change === '') node.append('vs ', shown(kind, before), ` in ${period}`);
  else node.append(`${percent(change)} vs ${period}`);
}

/**
 * A table of rows: columns are [key, label, class, show]; each cell carries
 * data-col and data-value (the exact value), and shows show(value) or the value, as text.
 */
export function table(columns, rows, rowProps = () => ({})) {
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, columns.map(([, label, cls]) => el('th', { class: cls, scope: 'col', text: label })))),
    el(
      'tbody',
      {},
      rows.map((row) =>
        el(
          'tr',
          rowProps(row),
          columns.map(([key, , cls, show]) => el('td', { class: cls, data: { col: key, value: String(row[key]) } }, show ? show(row[key]) : String(row[key]))),
        ),
      ),
    ),
  );
}

const code = (v) => el('code', { text: v });
const money = (v) => moneyText(String(v));

export function renderBySource(root, views) {
  const columns = [
    ['source', 'Source', '', code],
    ['records', 'Items', 'num', count],
    ['input_tokens', 'Input tokens', 'num', count],
    ['output_tokens', 'Output tokens', 'num', count],
    ['total_cost', 'Cost (USD)', 'num', money],
    ['earliest', 'Earliest', 'date', (v) => v || '—'],
    ['latest', 'Latest', 'date', (v) => v || '—'],
  ];
  clear(root).append(
    views.by_source.length ? table(columns, views.by_source, () => ({ data: { testid: 'source-row' } })) : el('p', { class: 'muted', text: 'No conversations match the filter.' }),
  );
}

/** Every hour of the day (UTC), those without rows too: the chart's 24 bars as a table. */
export function hoursOfDay(hourly) {
  const byHour = new Map(hourly.map((h) => [h.hour, h]));
  return Array.from({ length: 24 }, (_, hour) => byHour.get(hour) ?? { hour, records: 0, avg_input: '', avg_output: '', avg_cost: '' });
}

export function renderHourly(root, views) {
  const orDash = (show) => (v) => (v === '' ? '—' : show(v));
  const columns = [
    ['hour', 'Hour (UTC)', 'num', (h) => `${String(h).padStart(2, '0')}:00`],
    ['records', 'Items', 'num', count],
    ['avg_input', 'Avg input tokens', 'num', orDash(groupDigits)],
    ['avg_output', 'Avg output tokens', 'num', orDash(groupDigits)],
    ['avg_cost', 'Avg cost (USD)', 'num', orDash(money)],
  ];
  clear(root).append(foldable(table(columns, hoursOfDay(views.hourly), () => ({ data: { testid: 'hour-row' } })), 'hour-row'));
}

export function renderTop(root, views) {
  const rows = views.top.map((r, i) => ({ rank: i + 1, ...r }));
  const columns = [
    ['rank', '#', 'num'],
    ['total_price', 'Cost (USD)', 'num', money],
    ['create_date', 'Date (UTC)', 'date', (v) => v || '—'],
    ['source', 'Source', '', code],
    ['input_token', 'Input', 'num', count],
    ['output_token', 'Output', 'num', count],
    ['pk', 'pk', 'key', (v) => keyText(v, '')],
    ['sk', 'sk', 'key', (v) => keyText(v, '')],
  ];
  clear(root).append(
    rows.length ? table(columns, rows, () => ({ data: { testid: 'top-row' } })) : el('p', { class: 'muted', text: 'No conversations match the filter.' }),
  );
}

/**
 * The file summary into `root` (its file-summary and unreadable list): the
 * name and size shown, where it came from (`origin`, '' for this page's own),
 * rows read, placeholders dropped, unreadable lines (line + message).
 */
export function renderFileInfo(root, { name, size, origin, parseMs, info }) {
  const summary = byTestId('file-summary', root);
  summary.dataset.origin = origin;
  summary.dataset.parseMs = parseMs.toFixed(1);
  summary.dataset.rows = String(info.rows);
  summary.dataset.placeholderRows = String(info.placeholder_rows);
  summary.dataset.unreadable = String(info.unreadable.length);
  const span = info.first_day ? `, ${info.first_day} to ${info.last_day}` : '';
  clear(summary).append(
    el('strong', { text: name }),
    ` (${size}): ${count(info.rows)} items read${span}`,
    info.placeholder_rows ? `; ${count(info.placeholder_rows)} placeholder (sin_datos) rows dropped` : '',
    info.unreadable.length ? `; ${count(info.unreadable.length)} unreadable lines (listed below)` : '',
    '.',
  );

  const box = byTestId('unreadable-box', root);
  const list = clear(byTestId('unreadable', root));
  box.hidden = info.unreadable.length === 0;
  for (const bad of info.unreadable.slice(0, MAX_UNREADABLE_SHOWN)) {
    list.append(el('li', { data: { line: String(bad.line) } }, el('span', { class: 'line', text: `line ${bad.line}` }), ': ', bad.error));
  }
  if (info.unreadable.length > MAX_UNREADABLE_SHOWN) {
    list.append(el('li', { class: 'muted', text: `… and ${count(info.unreadable.length - MAX_UNREADABLE_SHOWN)} more` }));
  }
}
