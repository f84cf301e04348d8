// The explorer's views of Explorer.views() and .info(): each a function of
// (root, data) that renders into the element it is given and holds no state
// (the page decides when; the charts, which keep theirs, are in charts.js).
// Every CSV-derived value goes in as text (dom.js); exact values ride along
// in data-value attributes for tests and scripts.

import { el, clear, byTestId } from './dom.js';
import { count, money } from './format.js';
import { keyText } from './tables.js';

const MAX_UNREADABLE_SHOWN = 200;

const KPIS = [
  ['records', 'Conversations', (v) => count(v)],
  ['input_tokens', 'Input tokens', (v) => count(v)],
  ['output_tokens', 'Output tokens', (v) => count(v)],
  ['total_tokens', 'Total tokens', (v) => count(v)],
  ['total_cost', 'Total cost', (v) => money(v)],
  ['avg_cost', 'Average cost per conversation', (v) => money(v)],
];

/**
 * Every table view of an Explorer.views() result, into the parts of `root`
 * that hold them (data-testid headline, by-source, daily-table, hourly-table, top10).
 */
export function renderViews(root, views) {
  renderHeadline(byTestId('headline', root), views.headline);
  renderBySource(byTestId('by-source', root), views);
  renderDaily(byTestId('daily-table', root), views);
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

/** Builds the headline tiles once; renderHeadline fills them. */
export function buildHeadline(root) {
  clear(root);
  for (const [key, label] of KPIS) {
    root.append(
      el('div', { class: 'kpi', data: { kpi: key, value: '' } }, el('div', { class: 'kpi-label', text: label }), el('div', { class: 'kpi-value', text: '–' })),
    );
  }
}

export function renderHeadline(root, headline) {
  for (const [key, , show] of KPIS) {
    const tile = root.querySelector(`[data-kpi="${key}"]`);
    tile.dataset.value = String(headline[key]);
    tile.querySelector('.kpi-value').textContent = show(headline[key]);
  }
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

export function renderBySource(root, views) {
  const columns = [
    ['source', 'Source', '', code],
    ['records', 'Conversations', 'num', count],
    ['input_tokens', 'Input tokens', 'num', count],
    ['output_tokens', 'Output tokens', 'num', count],
    ['total_cost', 'Cost', 'num', money],
    ['earliest', 'Earliest', 'date', (v) => v || '—'],
    ['latest', 'Latest', 'date', (v) => v || '—'],
  ];
  clear(root).append(
    views.by_source.length ? table(columns, views.by_source, () => ({ data: { testid: 'source-row' } })) : el('p', { class: 'muted', text: 'No conversations match the filter.' }),
  );
}

/** The daily chart's figures as a table (its text alternative): a column per source shown. */
export function renderDaily(root, views) {
  const shown = new Set(views.by_source.map((s) => s.source));
  const columns = [
    ['day', 'Day', 'date'],
    ['records', 'Conversations', 'num', count],
    ...views.sources.flatMap((source, k) => (shown.has(source) ? [[`source${k}`, source, 'num', money]] : [])),
    ['total_cost', 'Total', 'num', money],
  ];
  const rows = views.daily.map((d) => ({ ...d, ...Object.fromEntries(d.cost_by_source.map((cost, k) => [`source${k}`, cost])) }));
  clear(root).append(
    rows.length ? table(columns, rows, () => ({ data: { testid: 'day-row' } })) : el('p', { class: 'muted', text: 'No dated conversations match the filter.' }),
  );
}

export function renderHourly(root, views) {
  const columns = [
    ['hour', 'Hour', 'num', (h) => `${String(h).padStart(2, '0')}:00`],
    ['records', 'Conversations', 'num', count],
    ['avg_input', 'Avg input tokens', 'num'],
    ['avg_output', 'Avg output tokens', 'num'],
    ['avg_cost', 'Avg cost', 'num', money],
  ];
  clear(root).append(table(columns, views.hourly, () => ({ data: { testid: 'hour-row' } })));
}

export function renderTop(root, views) {
  const rows = views.top.map((r, i) => ({ rank: i + 1, ...r }));
  const columns = [
    ['rank', '#', 'num'],
    ['total_price', 'Cost', 'num', money],
    ['create_date', 'Date', 'date', (v) => v || '—'],
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
    ` (${size}): ${count(info.rows)} conversations read${span}`,
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
