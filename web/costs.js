// Cost by user, by bot and by model: one view of an Explorer.breakdown()
// result, for each of the three. A function of (root, data) that holds no
// state: the sort, and what a click on a key does, come from the page.

import { byTestId, clear, el } from './dom.js';
import { count } from './format.js';
import { PHONE_ROWS, dataTable, moneyText } from './tables.js';

const NOUN = { user: ['user', 'users'], bot: ['bot', 'bots'], model: ['model', 'models'] };
const KEY = {
  user: { label: 'User (pk)', empty: '(no pk)', pickEmpty: false },
  bot: { label: 'Bot', empty: '(no bot)', pickEmpty: true },
  model: { label: 'Model', empty: '(no model)', pickEmpty: true },
};

/** The money the groups are ranked by, said once above the table. */
const BASIS = {
  billed: "Billed estimate (billed_price): every model call bedrock-chat made, at its model's price of the day.",
  estimated: "Estimated by the Lambdas' rules (total_price: the text's characters / 4, at one price); a detail CSV (tally --detail) has what bedrock-chat billed.",
};

/** The table's columns: a detail CSV's (billed) has the recorded price and the Lambdas' estimate beside. */
function columns(by, money, onPick) {
  const billed = money === 'billed';
  return [
    { key: 'key', kind: 'key', ...KEY[by], onPick },
    { key: 'cost', label: billed ? 'Billed estimate (USD)' : 'Estimated cost (USD)', kind: 'money' },
    { key: 'share_pct', label: 'Share of total', kind: 'share' },
    { key: 'conversations', label: 'Conversations', kind: 'count' },
    { key: 'input_tokens', label: billed ? 'Billed input tokens' : 'Input tokens', kind: 'count' },
    { key: 'output_tokens', label: billed ? 'Billed output tokens' : 'Output tokens', kind: 'count' },
    ...(billed
      ? [
          { key: 'recorded', label: 'Recorded (USD)', kind: 'money' },
          { key: 'seed_cost', label: "Lambdas' estimate (USD)", kind: 'money' },
        ]
      : []),
  ];
}

/** "25 users; the 20 most expensive shown. All 25 users together: $3.05." (the money readable, exact in its title). */
function summary({ by, groups, matched_groups: matched, total_groups: total, total_cost: totalCost }, search) {
  const [one, many] = NOUN[by];
  const counted = `${count(total)} ${total === 1 ? one : many}`;
  const found = search ? `${count(matched)} of ${counted} match “${search}”` : counted;
  const shown = groups.length < matched ? `the ${count(groups.length)} most expensive shown` : 'all shown';
  return [`${found}; ${shown}. All ${counted} together: `, moneyText(totalCost), '.'];
}

/**
 * A breakdown into `root` (its `${by}-note` and `${by}-table`): `search`
 * (what it was asked for, by user), `sort` ({ key, descending }: the rows as
 * the page sorts them), onSort(sort) and onPick(key) (a key was clicked).
 */
export function renderCosts(root, { breakdown, search = '', sort, onSort, onPick }) {
  const { by, money, groups } = breakdown;
  root.dataset.money = money;
  const note = byTestId(`${by}-note`, root);
  Object.assign(note.dataset, { totalGroups: String(breakdown.total_groups), matchedGroups: String(breakdown.matched_groups), totalCost: breakdown.total_cost });
  clear(note).append(el('span', { class: 'basis', text: BASIS[money] }), ' ', ...summary(breakdown, search));
  const empty = search ? `No ${NOUN[by][0]} matches “${search}”.` : 'No conversations match the filter.';
  clear(byTestId(`${by}-table`, root)).append(
    groups.length ? dataTable(columns(by, money, onPick), groups, { rowTestId: `${by}-row`, sort, onSort, fold: PHONE_ROWS }) : el('p', { class: 'muted', text: empty }),
  );
}

/** Empties a breakdown's section (a file without its columns). */
export function clearCosts(root, by) {
  delete root.dataset.money;
  clear(byTestId(`${by}-note`, root));
  clear(byTestId(`${by}-table`, root));
}
