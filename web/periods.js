// Days, weeks and months, in UTC, as ISO text ("YYYY-MM-DD"): what the
// trends are grouped by, the date presets, and the period a range is
// compared with. A week is an ISO week (Monday to Sunday); a month is a
// calendar month. Pure functions of their arguments; no clock (the presets
// are relative to the file's last day with data, not to today).

const DAY_MS = 86_400_000;
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** "2026-11-20" → days since 1970-01-01 (UTC); not a real day: NaN. */
export function dayNumber(iso) {
  const m = ISO_DAY.exec(iso);
  if (!m) return NaN;
  const [y, mo, d] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d);
  const date = new Date(ms);
  // 2026-02-30 is not a day (Date.UTC would roll it over to March).
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return NaN;
  return ms / DAY_MS;
}

/** Days since 1970-01-01 → "YYYY-MM-DD". */
export function isoDay(n) {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

/** Whether a text is a real calendar day written YYYY-MM-DD. */
export function isIsoDay(text) {
  return Number.isFinite(dayNumber(text));
}

/** The day `n` days after `iso` (before, for n < 0). */
export function addDays(iso, n) {
  return isoDay(dayNumber(iso) + n);
}

/** Days from `from` to `to`, both counted: ("2026-11-01", "2026-11-30") → 30. */
export function daysIn(from, to) {
  return dayNumber(to) - dayNumber(from) + 1;
}

/** The Monday of `iso`'s ISO week. */
export function weekStart(iso) {
  const n = dayNumber(iso);
  // 1970-01-01 was a Thursday: (n + 3) % 7 is 0 on Mondays.
  return isoDay(n - (((n + 3) % 7) + 7) % 7);
}

/** The ISO week of a day: "2026-W47" (its year is the year of its Thursday). */
export function isoWeek(iso) {
  const thursday = dayNumber(weekStart(iso)) + 3;
  const year = isoDay(thursday).slice(0, 4);
  const week = Math.floor((thursday - dayNumber(`${year}-01-01`)) / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The first day of `iso`'s month. */
export function monthStart(iso) {
  return `${iso.slice(0, 7)}-01`;
}

/** The last day of `iso`'s month. */
export function monthEnd(iso) {
  const [y, m] = iso.split('-').map(Number);
  return isoDay(Date.UTC(y, m, 1) / DAY_MS - 1);
}

/** The period of `unit` that holds `iso`: { start, end } (whole, not cut by any range). */
export function periodOf(iso, unit) {
  if (unit === 'week') {
    const start = weekStart(iso);
    return { start, end: addDays(start, 6) };
  }
  if (unit === 'month') return { start: monthStart(iso), end: monthEnd(iso) };
  return { start: iso, end: iso };
}

/** A period's name as the chart's axis shows it: the day, the week's Monday, or "2026-11". */
export function periodLabel(start, unit) {
  return unit === 'month' ? start.slice(0, 7) : start;
}

/**
 * The unit a range reads best in: days up to 92 days (a quarter), weeks up to
 * 550 days (about 80 bars), months beyond.
 */
export function autoUnit(from, to) {
  const days = daysIn(from, to);
  if (!(days > 0) || days <= 92) return 'day';
  return days <= 550 ? 'week' : 'month';
}

/**
 * Day rows ({ day, ... }, by day) in periods of `unit` covering `range`
 * ({ from, to }: every period from the one holding `from` to the one holding
 * `to`, those without rows too): [{ key, start, end, partial, rows }],
 * start and end being the days of the period inside the range (a period the
 * range cuts is `partial`), key its whole period's first day.
 */
export function groupDays(rows, unit, range) {
  const periods = [];
  let at = 0;
  for (let day = range.from; day <= range.to; ) {
    const whole = periodOf(day, unit);
    const start = range.from > whole.start ? range.from : whole.start;
    const end = range.to < whole.end ? range.to : whole.end;
    const period = { key: whole.start, start, end, partial: start !== whole.start || end !== whole.end, rows: [] };
    while (at < rows.length && rows[at].day < start) at++; // rows outside the range (there should be none)
    while (at < rows.length && rows[at].day <= end) period.rows.push(rows[at++]);
    periods.push(period);
    day = addDays(whole.end, 1);
  }
  return periods;
}

/** The date presets, in the order shown: [name, label]. */
export const PRESETS = [
  ['7d', '7 days'],
  ['30d', '30 days'],
  ['90d', '90 days'],
  ['this-month', 'This month'],
  ['last-month', 'Last month'],
  ['all', 'All'],
];

/**
 * A preset's days, relative to the file's last day with data (`last`) and
 * kept within its first (`first`): { from, to }; "all" is unbounded ('' and
 * ''); null when the preset holds no day of the file ("last month" of a file
 * that starts this month).
 */
export function presetRange(name, first, last) {
  if (name === 'all') return { from: '', to: '' };
  if (!isIsoDay(first) || !isIsoDay(last)) return null;
  const clamp = (from, to) => (to < first ? null : { from: from < first ? first : from, to: to > last ? last : to });
  const days = { '7d': 7, '30d': 30, '90d': 90 }[name];
  if (days) return clamp(addDays(last, 1 - days), last);
  if (name === 'this-month') return clamp(monthStart(last), last);
  if (name === 'last-month') {
    const end = addDays(monthStart(last), -1);
    return clamp(monthStart(end), end);
  }
  return null;
}

/** The period of equal length just before from..to: { from, to, days }. */
export function previousRange(from, to) {
  const days = daysIn(from, to);
  return { from: addDays(from, -days), to: addDays(from, -1), days };
}
