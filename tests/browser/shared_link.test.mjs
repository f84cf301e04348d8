// A shared link carries the view (scenarios, filter, grouping) but never the
// file: opened without one (no ?csv=), the page says what the link holds and
// asks for the file, instead of an empty page; the file opened, the view is
// the link's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, WEB, openFile, readJson, screenshot, useBrowser, waitIdle } from './helpers.mjs';

const CONSOLIDATED = join(FIXTURES, 'expected_consolidated.csv');

const suite = useBrowser();

test('a link with scenarios and a filter but no file says what it holds and asks for the file; the file opened, the view is the link\'s', async () => {
  const catalog = await readJson(join(WEB, 'prices.json'));
  const haiku = catalog.models.find((m) => m.name === 'Claude 3 Haiku');
  const hash = `#s=${encodeURIComponent(haiku.id)}~${haiku.input_per_1k}~${haiku.output_per_1k}~0&s=custom~0.0008~0.004~1&from=2025-01-01&src=old_table&group=week`;
  const page = await suite.browser.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${suite.browser.base}${hash}`);
  await waitIdle(page);
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'empty');
  const shared = page.locator('[data-testid="shared-link"]');
  assert.equal(await shared.isVisible(), true);
  // Visible without scrolling, on a phone.
  const box = await shared.boundingBox();
  assert.ok(box.y < 844, JSON.stringify(box));
  assert.equal(await shared.getAttribute('data-scenarios'), '2');
  assert.equal(await shared.getAttribute('data-filter'), '1');
  assert.match(await shared.textContent(), /2 scenarios, a filter, trends by week/);
  assert.match(await shared.textContent(), /open the CSV this view was made from/i);
  assert.deepEqual(await shared.locator('[data-testid="shared-scenario"]').allTextContents(), [
    `Scenario 1: ${haiku.name}`,
    `Scenario 2: custom 0.0008 / 0.004 per 1K, batch (× ${catalog.batch_multiplier})`,
  ]);
  const filter = await shared.locator('[data-testid="shared-filter"]').textContent();
  assert.match(filter, /days 2025-01-01 to the file's last/);
  assert.match(filter, /source old_table/);
  await screenshot(page, 'shared-link-without-file');

  await openFile(page, CONSOLIDATED);
  assert.equal(await shared.isVisible(), false);
  const cards = page.locator('[data-testid="scenario"]');
  assert.equal(await cards.count(), 2);
  assert.equal(await cards.nth(0).locator('[data-testid="model"]').inputValue(), haiku.id);
  assert.equal(await cards.nth(1).locator('[data-testid="price-input"]').inputValue(), '0.0008');
  assert.equal(await page.locator('[data-testid="filter-from"]').inputValue(), '2025-01-01');
  assert.equal(await page.locator('[data-testid="trends"]').getAttribute('data-unit'), 'week');
  assert.deepEqual(page.events.errors, []);
});

test('a page without a hash, or a link that names its file, shows no such message', async () => {
  const page = await suite.browser.newPage();
  await page.goto(suite.browser.base);
  await waitIdle(page);
  assert.equal(await page.locator('[data-testid="shared-link"]').isHidden(), true);
  await page.goto(`${suite.browser.base}#s=custom~0.0008~0.004~0`);
  await waitIdle(page);
  assert.equal(await page.locator('[data-testid="shared-link"]').isVisible(), true);
  // A link that names its file (?csv=) opens it: here one that is missing, whose error is the message.
  await page.goto(`${suite.browser.base}?csv=missing.csv#s=custom~0.0008~0.004~0`);
  await page.waitForFunction(() => document.body.dataset.state === 'error' && document.body.dataset.pending === '0');
  assert.equal(await page.locator('[data-testid="shared-link"]').isHidden(), true);
  assert.match(await page.locator('[data-testid="error"]').textContent(), /HTTP 404/);
  // A hash that holds nothing usable is no view.
  await page.goto(`${suite.browser.base}#s=nonsense`);
  await page.reload();
  await waitIdle(page);
  assert.equal(await page.locator('[data-testid="shared-link"]').isHidden(), true);
  assert.deepEqual(page.events.errors, []);
});
