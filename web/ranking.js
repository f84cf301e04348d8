// The scenarios ranked: every card's latest figures in one table, the
// cheapest first (by the re-priced total, exactly; equal totals keep the
// cards' order; a card not priced yet comes last). A function of (root,
// data) that holds no state: the cards' results are the page's.

import { byTestId, clear, el } from './dom.js';
import { compareDecimal, count, percent } from './format.js';
import { subtractDecimals } from './decimal.js';
import { moneyText } from './tables.js';

/** What the actual cost is, by a result's basis. */
const ACTUAL = {
  billed: 'the billed estimate (billed_price)',
  estimated: "estimated by the Lambdas' rules (total_price)",
};

const HEAD = ['#', 'Scenario', 'Total (USD)', 'Difference', 'Per month, projected', 'Saving per month'];
/** Each column's heading, by data-col: what a phone shows beside each value (the rows are stacked there). */
const LABEL = { rank: HEAD[0], scenario: HEAD[1], whatif: HEAD[2], difference: HEAD[3], monthly: HEAD[4], saving: HEAD[5] };

/**
 * The ranking into `root` (its ranking-note and ranking-table): `rows`, one
 * per card in the cards' order, { name, label, result } (result: its latest
 * Explorer.whatif(), null while it has none to show); onShow(index) when a
 * scenario's name is clicked (its card is shown).
 */
export function renderRanking(root, { rows, onShow }) {
  const priced = rows.map((row, index) => ({ ...row, index })).filter((r) => r.result);
  const waiting = rows.map((row, index) => ({ ...row, index })).filter((r) => !r.result);
  const ranked = [...priced].sort((a, b) => compareDecimal(a.result.whatif_cost, b.result.whatif_cost) || a.index - b.index);
  root.hidden = rows.length < 1;
  renderNote(byTestId('ranking-note', root), priced[0]?.result ?? null);
  const numeric = [true, false, true, true, true, true];
  clear(byTestId('ranking-table', root)).append(
    el(
      'table',
      { class: 'data ranking' },
      el('thead', {}, el('tr', {}, HEAD.map((label, i) => el('th', { scope: 'col', class: numeric[i] ? 'num' : '', text: label })))),
      el('tbody', {}, [...ranked.map((r, i) => rankedRow(r, i + 1, onShow)), ...waiting.map((r) => waitingRow(r, onShow))]),
    ),
  );
}

/** The actual cost the scenarios are held against, said once. */
function renderNote(root, result) {
  if (!result) {
    root.textContent = 'No scenario is priced yet.';
    return;
  }
  const monthly = result.window_end ? [', ', moneyText(result.monthly_actual), ' per 30 days at the rate of ', result.window_start, ' to ', result.window_end] : [];
  clear(root).append(
    'Cheapest first. Actual: ',
    moneyText(result.actual_cost),
    ` for ${count(result.records)} items`,
    ...monthly,
    ` (${ACTUAL[result.basis] ?? result.basis}). Saving per month: the actual cost per 30 days less the scenario's.`,
  );
}

/** A cell with its exact value in data-value (and the column in data-col). */
function cell(col, value, ...children) {
  return el('td', { class: col === 'scenario' ? '' : 'num', data: { col, value, label: LABEL[col] } }, ...children);
}

function nameButton(r, onShow) {
  return el('button', { type: 'button', class: 'link ranking-show', data: { testid: 'ranking-show' }, on: { click: () => onShow(r.index) } }, el('strong', { text: r.name }));
}

function rankedRow(r, rank, onShow) {
  const w = r.result;
  const saving = w.window_end ? subtractDecimals(w.monthly_actual, w.monthly_projection) : '';
  const difference = el('td', { class: 'num', data: { col: 'difference', value: w.difference, pct: w.difference_pct, label: LABEL.difference } }, el('span', {}, moneyText(w.difference, true), el('span', { class: 'muted', text: ` (${percent(w.difference_pct)})` })));
  return el(
    'tr',
    { data: { testid: 'ranking-row', scenario: String(r.index + 1) } },
    cell('rank', String(rank), String(rank)),
    cell('scenario', r.label, nameButton(r, onShow), el('div', { class: 'muted small ranking-label', text: r.label })),
    cell('whatif', w.whatif_cost, moneyText(w.whatif_cost)),
    difference,
    cell('monthly', w.window_end ? w.monthly_projection : '', w.window_end ? moneyText(w.monthly_projection) : '—'),
    cell('saving', saving, saving === '' ? '—' : moneyText(saving)),
  );
}

/** A card with nothing to show yet (its prices are being checked, or cannot be used). */
function waitingRow(r, onShow) {
  return el(
    'tr',
    { class: 'waiting', data: { testid: 'ranking-row', scenario: String(r.index + 1) } },
    cell('rank', '', '—'),
    cell('scenario', r.label, nameButton(r, onShow), el('div', { class: 'muted small ranking-label', text: r.label })),
    el('td', { class: 'muted', attrs: { colspan: '4' }, data: { col: 'whatif', value: '' }, text: 'not priced: see its card' }),
  );
}
