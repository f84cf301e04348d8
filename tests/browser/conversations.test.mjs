// Conversations against the other items of the table (#BOT#,
// #RELATED_DOCUMENT#, ...): counted apart, in the items and the totals, and
// left out of the cost per conversation; the run statistics' hooks keep
// their meaning (records: every row, avg_cost: per row). A small CSV
// written here, its figures computed here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { divHalfEven, kpis, micros, microsText, openFile, screenshot, useBrowser } from './helpers.mjs';

const suite = useBrowser('conversations');

const HEADER = 'create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source';
const ROWS = [
  ['2026-01-05 10:00:00', '100', '200', '0.000300', '0.003000', '0.003300', 'u1', 'u1#CONV#a', 'new_table'],
  ['2026-01-06 11:00:00', '50', '101', '0.000150', '0.001515', '0.001665', 'u2', 'u2#CONV#b', 'new_table'],
  ['2026-01-06 12:00:00', '0', '0', '0.000000', '0.000000', '0.000000', 'u1', 'u1#BOT#01HBOT', 'new_table'],
  ['2026-01-07 09:00:00', '10', '10', '0.000030', '0.000150', '0.000180', 'u2', 'u2#RELATED_DOCUMENT#doc', 'new_table'],
];

test('items that are not conversations (a #BOT# at $0, a #RELATED_DOCUMENT#) are counted apart and left out of the per-conversation average', async () => {
  const path = join(suite.dir, 'bots.csv');
  await writeFile(path, [HEADER, ...ROWS.map((r) => r.join(','))].join('\n') + '\n');
  const conversations = ROWS.filter((r) => r[7].includes('#CONV#'));
  const cost = (rows) => rows.reduce((n, r) => n + micros(r[5]), 0n);

  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await openFile(page, path);
  const shown = await kpis(page);
  assert.equal(shown.records, String(ROWS.length));
  assert.equal(shown.conversations, String(conversations.length));
  assert.equal(shown.total_cost, microsText(cost(ROWS)));
  // Per conversation: the conversations' cost over their number (the $0 bot would pull it down, the document up).
  assert.equal(shown.avg_cost_per_conversation, microsText(divHalfEven(cost(conversations), BigInt(conversations.length))));
  // Per item: every row, as the run statistics' average_cost_per_record.
  assert.equal(shown.avg_cost, microsText(divHalfEven(cost(ROWS), BigInt(ROWS.length))));
  assert.notEqual(shown.avg_cost, shown.avg_cost_per_conversation);

  const note = page.locator('[data-testid="other-items-note"]');
  assert.equal(await note.isVisible(), true);
  assert.equal(await note.getAttribute('data-value'), '2');
  assert.match(await note.textContent(), /2 items are not a conversation \(#BOT#, #RELATED_DOCUMENT#/);
  assert.match(await note.textContent(), /left out of the cost per conversation/);
  // Money tiles say whose estimate they are; the readable figure, the exact one in its title.
  const tile = page.locator('[data-kpi="avg_cost_per_conversation"]');
  assert.equal(await tile.getAttribute('data-basis'), 'estimated');
  assert.match(await tile.textContent(), /estimated by the Lambdas' rules/);
  assert.equal(await tile.locator('.kpi-value [title]').getAttribute('title'), `$${shown.avg_cost_per_conversation}`);
  await screenshot(page, 'conversations-other-items');
  assert.deepEqual(page.events.errors, []);
});
