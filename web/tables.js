// Tables of the real-cost views (costs.js, accuracy.js), and the folding of
// any long table on a phone (views.js's too). A column is
// { key, label, kind, empty?, onPick?, pickEmpty? }: its kind says how a
// value reads and sorts. Money reads at people's precision (format.js) with
// the exact value in title and data-value; keys from the file (users, bots,
// models, sk) are text, cut short by the stylesheet with the whole value in
// title (and in the text, for copying). Every value goes in as text, never
// as HTML.

import { el } from './dom.js';
import { compareDecimal, count, money, readableMoney, readableSignedMoney, signedMoney } from './format.js';

/** A key from the file, as text; `empty` names the empty key ("(no bot)"). */
export function keyText(value, empty = '(empty)') {
  if (value === '') return el('span', { class: 'key-text muted', text: empty });
  return el('code', { class: 'key-text', title: value, text: value });
}

/** An amount at a readable precision, the exact one in title; '' (none) reads "—". */
export function moneyText(value, signed = false) {
  if (value === '') return el('span', { text: '—' });
  return el('span', { title: signed ? signedMoney(value) : money(value), text: signed ? readableSignedMoney(value) : readableMoney(value) });
}

/** A key that filters the page to it when clicked (the empty one only with `pickEmpty`: "no bot" is a filter, "no pk" is not). */
function pickable(value, column) {
  if (value === '' && !column.pickEmpty) return keyText(value, column.empty);
  return el('button', { type: 'button', class: 'key-pick', data: { testid: 'pick' }, on: { click: () => column.onPick(value) } }, keyText(value, column.empty));
}

const KINDS = {
  key: { cls: 'key', show: (v, c) => (c.onPick ? pickable(v, c) : keyText(v, c.empty)), compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0) },
  count: { cls: 'num', show: (v) => count(v), compare: (a, b) => a - b },
  money: { cls: 'num', show: (v) => moneyText(v), compare: compareDecimal },
  signed: { cls: 'num', show: (v) => moneyText(v, true), compare: compareDecimal },
  share: { cls: 'num', show: (v) => (v === '' ? '—' : `${v} %`), compare: compareDecimal },
};

/** The rows in `sort` order ({ key, descending }); equal values keep the order given. */
function sortRows(rows, columns, sort) {
  const column = columns.find((c) => c.key === sort.key);
  if (!column) return rows;
  const compare = KINDS[column.kind].compare;
  const sign = sort.descending ? -1 : 1;
  return [...rows].sort((a, b) => sign * compare(a[column.key], b[column.key]));
}

/** The sort a click on `column`'s heading asks for: the other way round, or numbers largest first and keys A to Z. */
function nextSort(column, sort) {
  if (sort?.key === column.key) return { key: column.key, descending: !sort.descending };
  return { key: column.key, descending: column.kind !== 'key' };
}

function headCell(column, sort, onSort) {
  const cls = KINDS[column.kind].cls;
  if (!onSort) return el('th', { class: cls, scope: 'col', text: column.label });
  const active = sort?.key === column.key;
  return el(
    'th',
    { class: cls, scope: 'col', attrs: active ? { 'aria-sort': sort.descending ? 'descending' : 'ascending' } : {} },
    el(
      'button',
      { type: 'button', class: 'sort', data: { testid: `sort-${column.key}` }, on: { click: () => onSort(nextSort(column, sort)) } },
      column.label,
      active ? el('span', { class: 'sort-mark', attrs: { 'aria-hidden': 'true' }, text: sort.descending ? ' ▼' : ' ▲' }) : '',
    ),
  );
}

function cell(column, value) {
  const kind = KINDS[column.kind];
  return el('td', { class: kind.cls, data: { col: column.key, value: String(value) } }, kind.show(value, column));
}

/** Rows a long table shows on a phone before its "Show all" button. */
export const PHONE_ROWS = 5;

/** The folded tables the user opened, by their rows' data-testid: they stay open when redrawn. */
const unfolded = new Set();

/**
 * A table of `rows` (each row's cells carry data-col and data-value), each
 * <tr> with data-testid `rowTestId`; with `onSort(sort)`, its headings are
 * buttons that ask for another `sort` ({ key, descending }), shown here.
 * With `fold`, folded on a phone (foldable).
 */
export function dataTable(columns, rows, { rowTestId, sort = null, onSort = null, fold = 0 }) {
  const shown = sort ? sortRows(rows, columns, sort) : rows;
  const table = el(
    'table',
    { class: 'data' },
    el('thead', {}, el('tr', {}, columns.map((c) => headCell(c, sort, onSort)))),
    el(
      'tbody',
      {},
      shown.map((row) => el('tr', { data: { testid: rowTestId } }, columns.map((c) => cell(c, row[c.key])))),
    ),
  );
  return fold ? foldable(table, rowTestId, fold) : table;
}

/**
 * A long `table` as a phone (the stylesheet's narrow screens) shows it: its
 * first `fold` rows, and a button for the rest (data-testid fold-toggle,
 * aria-expanded, which screen readers announce); every row stays in the
 * document (hidden, until the button, on a phone), and a wide screen shows them all. `name`: the table's, so that one the user opened
 * stays open when redrawn. Returns the table, or it and its button.
 */
export function foldable(table, name, fold = PHONE_ROWS) {
  const rows = table.tBodies[0]?.rows ?? [];
  if (rows.length <= fold) return table;
  for (let i = fold; i < rows.length; i++) rows[i].classList.add('folded');
  table.classList.add('foldable');
  const label = (open) => (open ? `Show the first ${fold}` : `Show all ${count(rows.length)} rows`);
  const open = unfolded.has(name);
  table.classList.toggle('unfolded', open);
  const toggle = el('button', {
    type: 'button',
    class: 'fold-toggle',
    data: { testid: 'fold-toggle' },
    attrs: { 'aria-expanded': String(open) },
    text: label(open),
    on: {
      click: () => {
        const now = table.classList.toggle('unfolded');
        if (now) unfolded.add(name);
        else unfolded.delete(name);
        toggle.setAttribute('aria-expanded', String(now));
        toggle.textContent = label(now);
      },
    },
  });
  const both = document.createDocumentFragment();
  both.append(table, toggle);
  return both;
}
