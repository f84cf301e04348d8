// Exact arithmetic on the engine's decimal strings ("0.013080", "-1.5",
// "12"), in BigInt: sums of days into weeks and months, differences and
// percentage changes. Never floats: a sum of a thousand days equals the sum
// of its parts to the last micro-dollar.

const DECIMAL = /^(-?)(\d*)(?:\.(\d*))?$/;

/**
 * "0.013080" → { units: 13080n, scale: 6 }; a price as a catalog may write
 * it (" .5 ", "3.") too; not a decimal: null.
 */
export function parseDecimal(text) {
  const m = DECIMAL.exec(String(text).trim());
  if (!m || !/\d/.test(m[0])) return null;
  const [, sign, int, frac = ''] = m;
  const units = BigInt((int || '0') + frac);
  return { units: sign ? -units : units, scale: frac.length };
}

/** units at `scale` decimals as text: (13080n, 6) → "0.013080". */
export function decimalText(units, scale) {
  const sign = units < 0n ? '-' : '';
  const digits = String(units < 0n ? -units : units).padStart(scale + 1, '0');
  return scale === 0 ? `${sign}${digits}` : `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** A parsed decimal at a larger scale. */
const rescale = (d, scale) => d.units * 10n ** BigInt(scale - d.scale);

/**
 * The exact sum of decimal strings, at the largest scale among them (at least
 * `minScale`): ["0.5", "0.013080"] → "0.513080". Throws on a text that is not
 * a decimal (the engine never sends one).
 */
export function sumDecimals(texts, minScale = 0) {
  const parsed = texts.map((t) => {
    const d = parseDecimal(t);
    if (!d) throw new Error(`not a decimal: ${t}`);
    return d;
  });
  const scale = parsed.reduce((s, d) => Math.max(s, d.scale), minScale);
  return decimalText(parsed.reduce((sum, d) => sum + rescale(d, scale), 0n), scale);
}

/** a − b, exactly, at the larger scale of the two. */
export function subtractDecimals(a, b) {
  const [x, y] = [parseDecimal(a), parseDecimal(b)];
  if (!x || !y) throw new Error(`not a decimal: ${x ? b : a}`);
  const scale = Math.max(x.scale, y.scale);
  return decimalText(rescale(x, scale) - rescale(y, scale), scale);
}

/** n / d rounded half to even (d > 0). */
function divHalfEven(n, d) {
  const negative = n < 0n;
  const a = negative ? -n : n;
  let q = a / d;
  const r2 = 2n * (a % d);
  if (r2 > d || (r2 === d && q % 2n === 1n)) q += 1n;
  return negative ? -q : q;
}

/**
 * The change from `previous` to `current` in percent, at `places` decimals
 * (half to even): ("112.3", "100") → "12.3"; "" when previous is 0 (no
 * percentage of nothing).
 */
export function percentChange(current, previous, places = 1) {
  const [c, p] = [parseDecimal(current), parseDecimal(previous)];
  if (!c || !p) throw new Error(`not a decimal: ${c ? previous : current}`);
  if (p.units === 0n) return '';
  const scale = Math.max(c.scale, p.scale);
  const [cu, pu] = [rescale(c, scale), rescale(p, scale)];
  const den = pu < 0n ? -pu : pu;
  return decimalText(divHalfEven((cu - pu) * 100n * 10n ** BigInt(places), den), places);
}
