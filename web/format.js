// Display formats. Money arrives as exact decimal strings and is only
// regrouped, or rounded for reading (as text), here, never turned into a
// float; counts are plain integers.

/** "1234567.500000" → "1,234,567.500000" (the sign and decimals kept). */
export function groupDigits(text) {
  const s = String(text);
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(s);
  if (!m) return s;
  return m[1] + m[2].replace(/\B(?=(\d{3})+$)/g, ',') + (m[3] ?? '');
}

/** "2.502273" → "$2.502273"; "-0.5" → "−$0.5". */
export function money(text) {
  const s = String(text);
  return s.startsWith('-') ? `−$${groupDigits(s.slice(1))}` : `$${groupDigits(s)}`;
}

/** A signed difference: "+$0.1", "−$0.1", "$0.000000". */
export function signedMoney(text) {
  const s = String(text);
  if (s.startsWith('-')) return money(s);
  return /[1-9]/.test(s) ? `+${money(s)}` : money(s);
}

/** "12.34" → "+12.34 %"; "" (actual cost 0) → "—". */
export function percent(text) {
  const s = String(text);
  if (s === '') return '—';
  if (s.startsWith('-')) return `−${s.slice(1)} %`;
  return /[1-9]/.test(s) ? `+${s} %` : `${s} %`;
}

/** 1234567 → "1,234,567". */
export function count(n) {
  return groupDigits(String(n));
}

/** A byte count for people: "179.4 MB". */
export function bytes(n) {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB'];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u += 1;
  } while (v >= 1000 && u < units.length - 1);
  return `${v.toFixed(1)} ${units[u]}`;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d*))?$/;

/** An unsigned decimal string rounded half to even to `places` decimals: ("0.003558", 5) → "0.00356". */
function roundTo(text, places) {
  const [, , int, frac = ''] = DECIMAL.exec(text);
  const kept = frac.slice(0, places).padEnd(places, '0');
  const digits = BigInt(int + kept);
  const rest = frac.slice(places);
  const half = rest === '' ? -1 : compareDecimal(`0.${rest}`, '0.5');
  const up = half > 0 || (half === 0 && digits % 2n === 1n);
  const n = String(up ? digits + 1n : digits).padStart(places + 1, '0');
  return places === 0 ? n : `${n.slice(0, -places)}.${n.slice(-places)}`;
}

/**
 * How many decimals an amount is read at: 2, or 3 significant digits below
 * a cent (never more decimals than the exact value has).
 */
function readablePlaces(abs) {
  const [, , int, frac = ''] = DECIMAL.exec(abs);
  const first = frac.search(/[1-9]/);
  // A cent or more, or nothing at all: cents.
  if (BigInt(int) > 0n || first < 2) return 2;
  const places = Math.min(first + 3, frac.length);
  // Rounded up to a cent (0.009996 → 0.0100), it reads as one: $0.01.
  return roundTo(abs, places).startsWith('0.00') ? places : 2;
}

/**
 * Money at the precision people read: "1234.567891" → "$1,234.57",
 * "0.003558" → "$0.00356", "-0.849769" → "−$0.85" (half to even; the exact
 * value belongs in a title and data-value beside it). Not a decimal: as it is.
 */
export function readableMoney(text) {
  const s = String(text);
  const m = DECIMAL.exec(s);
  if (!m) return s;
  const abs = s.replace(/^-/, '');
  const shown = roundTo(abs, readablePlaces(abs));
  return money(m[1] && /[1-9]/.test(shown) ? `-${shown}` : shown);
}

/** A signed difference at a readable precision: "+$0.12", "−$0.31", "$0.00". */
export function readableSignedMoney(text) {
  const shown = readableMoney(text);
  return /^\$/.test(shown) && /[1-9]/.test(shown) ? `+${shown}` : shown;
}

/**
 * Orders two decimal strings by value (exactly, as text: never floats);
 * an empty string (no value) comes before every number.
 */
export function compareDecimal(a, b) {
  if (a === '' || b === '') return (a !== '') - (b !== '');
  const [, sa, ia, fa = ''] = DECIMAL.exec(a);
  const [, sb, ib, fb = ''] = DECIMAL.exec(b);
  const places = Math.max(fa.length, fb.length);
  const value = (sign, int, frac) => BigInt(`${sign}${int}${frac.padEnd(places, '0')}`);
  const d = value(sa, ia, fa) - value(sb, ib, fb);
  return d > 0n ? 1 : d < 0n ? -1 : 0;
}

/** A bin of the error histogram: (-100, -90) → "−100 to −90 %", (100, null) → "+100 % and more". */
export function percentRange(from, to) {
  const signed = (n) => (n < 0 ? `−${-n}` : n > 0 ? `+${n}` : '0');
  return to === null ? `${signed(from)} % and more` : `${signed(from)} to ${signed(to)} %`;
}
