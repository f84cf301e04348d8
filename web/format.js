// Display formats. Money arrives as exact decimal strings and is only
// regrouped here, never turned into a float; counts are plain integers.

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
