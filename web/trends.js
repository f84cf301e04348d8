// The trends: a day series (Explorer.views()' daily, or a what-if's) in
// days, ISO weeks (Monday to Sunday, UTC) or calendar months, summed exactly
// (decimal.js: a week's cost is the sum of its days' to the micro-dollar);
// the grouping control, the date presets and the periods' table (the
// chart's text alternative; the chart is in charts.js). Functions of their
// arguments: which grouping is chosen, and the filter, are the page's.

import { byTestId, clear, el } from './dom.js';
import { count } from './format.js';
import { sumDecimals } from './decimal.js';
import { PRESETS, autoUnit, groupDays, isoWeek, periodLabel, presetRange } from './periods.js';
import { moneyText } from './tables.js';
import { table } from './views.js';

/** The choices of grouping: 'auto' (by the range's length) or a unit. */
export const GROUPINGS = ['auto', 'day', 'week', 'month'];

const UNIT_NAME = { day: 'Day', week: 'Week (Monday to Sunday)', month: 'Month' };

/**
 * The days a day series covers under a filter ({ from, to }, '' unbounded)
 * within the file's days (`span`: { first, last }): the filter's bounds, kept
 * within the file's days (before its first day there is no data, not a cost
 * of 0), or, where a bound is empty, the series' own first or last day; null
 * for an empty series, or days that hold none of the file's.
 */
export function trendRange(filter, daily, span) {
  if (daily.length === 0) return null;
  const from = filter.from ? (span.first && filter.from < span.first ? span.first : filter.from) : daily[0].day;
  const to = filter.to ? (span.last && filter.to > span.last ? span.last : filter.to) : daily.at(-1).day;
  return from <= to ? { from, to } : null;
}

/** The unit shown: the chosen one, or (auto) the one the range reads best in. */
export function unitFor(grouping, range) {
  if (grouping !== 'auto') return grouping;
  return range ? autoUnit(range.from, range.to) : 'day';
}

/**
 * A day series in periods of `unit` covering `range` (periods without days
 * too: their sums are 0), each with exact sums: { money: keys of amounts,
 * counts: keys of integers, lists: keys of lists of amounts (cost_by_source),
 * width: the length of those lists }. Each period: { key, start, end,
 * partial, label, days (its rows with data), ...the sums }.
 */
export function sumPeriods(daily, unit, range, { money = [], counts = [], lists = [], width = 0 }) {
  if (!range) return [];
  return groupDays(daily, unit, range).map((p) => {
    const sums = { key: p.key, start: p.start, end: p.end, partial: p.partial, label: periodLabel(p.key, unit), days: p.rows.length };
    for (const k of money) sums[k] = sumDecimals(p.rows.map((r) => r[k]), 6);
    for (const k of counts) sums[k] = p.rows.reduce((n, r) => n + r[k], 0);
    for (const k of lists) sums[k] = Array.from({ length: width }, (_, i) => sumDecimals(p.rows.map((r) => r[k][i]), 6));
    return sums;
  });
}

/** A period as its table names it: "2026-11-20", "2026-W47: 2026-11-16 to 2026-11-22", "2026-11". */
export function periodName(p, unit) {
  const part = p.partial ? ' (part)' : '';
  if (unit === 'week') return `${isoWeek(p.key)}: ${p.start} to ${p.end}${part}`;
  if (unit === 'month') return p.partial ? `${p.label} (${p.start} to ${p.end})` : p.label;
  return p.start;
}

/** A period as a chart's tooltip heads it. */
export function periodTitle(p, unit) {
  if (unit === 'day') return p.start;
  return `${unit === 'week' ? `Week ${isoWeek(p.key)}` : p.label}: ${p.start} to ${p.end}${p.partial ? ' (part of it)' : ''}`;
}

/**
 * The periods' table of the cost chart into `root`: a column per source
 * shown, a row per period (data-testid period-row, with data-start, data-end:
 * the days it sums, data-key: its whole period's first day, data-partial).
 */
export function renderTrendTable(root, views, periods, unit) {
  const shown = new Set(views.by_source.map((s) => s.source));
  const columns = [
    ['period', UNIT_NAME[unit], 'date', () => ''],
    ['records', 'Items', 'num', count],
    ...views.sources.flatMap((source, k) => (shown.has(source) ? [[`source${k}`, source, 'num', (v) => moneyText(v)]] : [])),
    ['total_cost', 'Total (USD)', 'num', (v) => moneyText(v)],
  ];
  const rows = periods.map((p) => ({ ...p, period: p.start, ...Object.fromEntries(p.cost_by_source.map((cost, k) => [`source${k}`, cost])) }));
  const rowProps = (p) => ({ data: { testid: 'period-row', start: p.start, end: p.end, key: p.key, partial: String(p.partial) } });
  clear(root).dataset.unit = unit;
  if (rows.length === 0) {
    root.append(el('p', { class: 'muted', text: 'No dated conversations match the filter.' }));
    return;
  }
  const t = table(columns, rows, rowProps);
  // The period's name, as text (table() shows each cell's value; this one reads otherwise).
  t.querySelectorAll('td[data-col="period"]').forEach((td, i) => td.append(periodName(periods[i], unit)));
  root.append(t);
}

/**
 * The grouping control into `root` (a fieldset): a radio per choice
 * (data-testid group-auto|day|week|month); onChange(grouping) when one is chosen.
 */
export function buildGrouping(root, onChange) {
  clear(root).append(
    el('legend', { text: 'Group by' }),
    ...GROUPINGS.map((g) =>
      el(
        'label',
        { class: 'choice' },
        el('input', { type: 'radio', name: 'grouping', value: g, data: { testid: `group-${g}` }, on: { change: () => onChange(g) } }),
        el('span', { class: 'choice-label', text: g === 'auto' ? 'auto' : g }),
      ),
    ),
  );
}

/** Shows the grouping chosen, and what auto stands for now ("auto (month)"). */
export function renderGrouping(root, { grouping, unit }) {
  for (const input of root.querySelectorAll('input[name="grouping"]')) input.checked = input.value === grouping;
  const auto = root.querySelector('input[value="auto"] + .choice-label');
  if (auto) auto.textContent = grouping === 'auto' ? `auto (${unit})` : 'auto';
}

/**
 * The date presets into `root`: a button per preset (data-testid
 * preset-7d|30d|90d|this-month|last-month|all); onPick(name) on a click.
 */
export function buildPresets(root, onPick) {
  clear(root).append(
    ...PRESETS.map(([name, label]) => el('button', { type: 'button', class: 'preset', text: label, data: { testid: `preset-${name}`, preset: name }, on: { click: () => onPick(name) } })),
  );
}

/**
 * Which presets the file's days allow ({ first, last }: its first and last
 * day with data; a preset that holds none of them is disabled), and which
 * one the filter's days are (aria-pressed).
 */
export function renderPresets(root, { first, last, from, to }) {
  for (const button of root.querySelectorAll('button[data-preset]')) {
    const range = presetRange(button.dataset.preset, first, last);
    button.disabled = !range;
    button.setAttribute('aria-pressed', String(!!range && range.from === from && range.to === to));
    button.title = range ? (range.from ? `${range.from} to ${range.to}` : 'Every day of the file') : 'The file has no day in it';
  }
}

/** The trends section's parts into `root`: its table's unit shown on the section (data-unit). */
export function markUnit(root, unit, grouping) {
  root.dataset.unit = unit;
  root.dataset.grouping = grouping;
  byTestId('trend-unit', root).textContent = { day: 'per day', week: 'per week', month: 'per month' }[unit];
}
