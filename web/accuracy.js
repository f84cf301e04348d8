// Recorded vs estimated: what bedrock-chat recorded (TotalPrice) against the
// billed estimate, of an Explorer.accuracy() result: the totals, the error
// per conversation as a histogram's table (the chart is in charts.js), and
// the conversations that differ most. A function of (root, data), no state.

import { byTestId, clear, el } from './dom.js';
import { count, percent, percentRange } from './format.js';
import { PHONE_ROWS, dataTable, moneyText } from './tables.js';
import { table } from './views.js';

/** The tiles: [data-kpi, label, the result's field, how it reads]. */
const TILES = [
  ['recorded_total', 'Recorded by bedrock-chat', 'recorded_total', 'money'],
  ['billed_total', 'Billed estimate', 'billed_total', 'money'],
  ['billed_difference', 'Difference (estimate − recorded)', 'difference', 'signed'],
  ['billed_difference_pct', 'Difference, % of recorded', 'difference_pct', 'percent'],
  ['seed_total', "The Lambdas' estimate", 'seed_total', 'money'],
];

const MOST_DIFFERENT = [
  { key: 'pk', label: 'User (pk)', kind: 'key' },
  { key: 'sk', label: 'Conversation (sk)', kind: 'key' },
  { key: 'recorded', label: 'Recorded (USD)', kind: 'money' },
  { key: 'billed', label: 'Billed estimate (USD)', kind: 'money' },
  { key: 'difference', label: 'Difference (USD)', kind: 'signed' },
];

function tile(kpi, label, value, kind) {
  const shown = kind === 'percent' ? el('span', { text: percent(value) }) : moneyText(value, kind === 'signed');
  return el('div', { class: 'kpi', data: { kpi, value } }, el('div', { class: 'kpi-label', text: label }), el('div', { class: 'kpi-value' }, shown));
}

function renderTiles(root, accuracy) {
  clear(root).append(...TILES.map(([kpi, label, field, kind]) => tile(kpi, label, accuracy[field], kind)));
}

/** Which conversations the figures are of. */
function renderNote(root, { conversations, without_recorded: without }) {
  root.dataset.conversations = String(conversations);
  root.dataset.withoutRecorded = String(without);
  root.textContent =
    `Of ${count(conversations)} conversations with a recorded price` +
    (without ? `; ${count(without)} without one are left out.` : '.') +
    ' The error of one is its estimate / recorded − 1 (those recorded at $0 are not in the histogram).';
}

/** The histogram's figures as a table (the chart's text alternative), a row per bin. */
function renderHistogramTable(root, histogram) {
  const rows = histogram.map((b) => ({ range: percentRange(b.from_pct, b.to_pct), conversations: b.conversations, from: b.from_pct, to: b.to_pct }));
  const columns = [
    ['range', 'Error of the estimate', ''],
    ['conversations', 'Conversations', 'num', count],
  ];
  const rowProps = (r) => ({ data: { testid: 'histogram-row', from: String(r.from), to: r.to === null ? '' : String(r.to) } });
  clear(root).append(table(columns, rows, rowProps));
}

/**
 * An Explorer.accuracy() result into `root` (its accuracy-kpis,
 * accuracy-note, histogram-table and most-different).
 */
export function renderAccuracy(root, accuracy) {
  renderTiles(byTestId('accuracy-kpis', root), accuracy);
  renderNote(byTestId('accuracy-note', root), accuracy);
  renderHistogramTable(byTestId('histogram-table', root), accuracy.histogram);
  const rows = accuracy.most_different;
  clear(byTestId('most-different', root)).append(
    rows.length ? dataTable(MOST_DIFFERENT, rows, { rowTestId: 'different-row', fold: PHONE_ROWS }) : el('p', { class: 'muted', text: 'No conversation with a recorded price matches the filter.' }),
  );
}

/** Empties the section (a file without the detail columns). */
export function clearAccuracy(root) {
  for (const id of ['accuracy-kpis', 'accuracy-note', 'histogram-table', 'most-different']) clear(byTestId(id, root));
}
