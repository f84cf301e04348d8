// The page from a phone (390 × 844) to a wide screen (1440 × 900), for a
// seed CSV and a detail CSV: no horizontal scroll, every what-if figure
// inside its card, long keys cut short (whole in their title and their text),
// the top 10 not a tower, the hourly table without a scroll box, and the
// what-if one tap away (the sticky section nav). A screenshot of each.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, openFile, pageWidth, screenshot, useBrowser, waitIdle, writeDetailCsv } from './helpers.mjs';

const CONSOLIDATED = join(FIXTURES, 'expected_consolidated.csv');
const VIEWPORTS = [
  { width: 1440, height: 900 },
  { width: 390, height: 844 },
];

const suite = useBrowser('layout');

/** Each what-if figure's box against its card's: those that stick out, [] when none. */
function figuresOutside(page) {
  return page.locator('[data-testid="scenario"]').evaluateAll((cards) =>
    cards.flatMap((card, i) => {
      const c = card.getBoundingClientRect();
      return [...card.querySelectorAll('[data-figure], .scenario-figures dt, .scenario-figures dd, [data-testid="whatif-by-source"] table')]
        .map((n) => ({ n, r: n.getBoundingClientRect() }))
        .filter(({ r }) => r.left < c.left - 0.5 || r.right > c.right + 0.5 || r.top < c.top - 0.5 || r.bottom > c.bottom + 0.5)
        .map(({ n, r }) => `card ${i + 1}: ${n.dataset.testid ?? n.tagName} [${Math.round(r.left)}, ${Math.round(r.right)}] outside [${Math.round(c.left)}, ${Math.round(c.right)}]`);
    }),
  );
}

/** Elements wider than the window (what would scroll the page sideways), named. */
function widerThanWindow(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('body *')]
      .filter((n) => n.getBoundingClientRect().right > innerWidth + 0.5 && !n.closest('.table-wrap, .section-nav'))
      .slice(0, 5)
      .map((n) => `${n.tagName}.${n.className} ${n.dataset.testid ?? ''}`),
  );
}

async function check(page, label, { width, height }) {
  const { scrollWidth, innerWidth } = await pageWidth(page);
  assert.ok(scrollWidth <= innerWidth, `${label}: the page scrolls sideways (${scrollWidth} > ${innerWidth}): ${await widerThanWindow(page)}`);
  assert.deepEqual(await figuresOutside(page), [], label);

  // Keys from the file: cut short on one line, whole in the title and in the text (what is copied).
  const keys = await page.locator('[data-testid="top10"] code.key-text').evaluateAll((codes) =>
    codes.map((c) => ({ text: c.textContent, title: c.title, cut: c.scrollWidth > c.clientWidth, ellipsis: getComputedStyle(c).textOverflow, lines: Math.round(c.getBoundingClientRect().height / parseFloat(getComputedStyle(c).lineHeight || '16')) })),
  );
  assert.ok(keys.length > 0, label);
  for (const k of keys) {
    assert.equal(k.title, k.text, label);
    assert.equal(k.ellipsis, 'ellipsis', label);
  }
  if (width < 600) assert.ok(keys.some((k) => k.cut), `${label}: the long keys are cut short on a phone`);
  // The top 10 is ten rows, not a tower.
  const top = await page.locator('[data-testid="top10"]').boundingBox();
  assert.ok(top.height < 700, `${label}: the top 10 is ${top.height}px tall`);
  // The hourly table has no scroll box of its own (its 24 hours are all there; a phone folds them below).
  const hourly = await page.locator('[data-testid="hourly-table"]').evaluate((n) => n.scrollHeight - n.clientHeight);
  assert.ok(hourly <= 1, `${label}: the hourly table scrolls by ${hourly}px`);

  // Long tables show their first rows on a phone, and the rest a tap away; every row on a wide screen.
  for (const table of await page.locator('table.foldable').all()) {
    const visible = () => table.locator('tbody tr').evaluateAll((rows) => rows.filter((r) => r.getClientRects().length > 0).length);
    const rows = await table.locator('tbody tr').count();
    const toggle = table.locator('xpath=following-sibling::button[@data-testid="fold-toggle"]');
    if (width > 600) {
      assert.equal(await visible(), rows, `${label}: every row of a long table on a wide screen`);
      assert.equal(await toggle.isVisible(), false, label);
      continue;
    }
    assert.ok(rows > 5, label);
    assert.equal(await visible(), 5, `${label}: a long table shows 5 of its ${rows} rows on a phone`);
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false', label);
    await toggle.click();
    assert.equal(await visible(), rows, `${label}: the button shows every row`);
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true', label);
    await toggle.click();
    assert.equal(await visible(), 5, label);
  }

  // The what-if is one tap away: the nav is at hand at the top, and stays there.
  await page.evaluate(() => scrollTo(0, 0));
  const nav = page.locator('[data-testid="section-nav"]');
  const link = nav.locator('a[data-section="whatif"]');
  assert.ok((await link.boundingBox()).y < height, `${label}: the nav's what-if link is on the first screen`);
  const hash = new URL(page.url()).hash;
  await link.click();
  const whatif = await page.locator('[data-testid="whatif"]').boundingBox();
  assert.ok(whatif.y >= 0 && whatif.y < height / 2, `${label}: the what-if is at ${whatif.y}`);
  assert.equal(new URL(page.url()).hash, hash, `${label}: the nav leaves the URL's state alone`);
  assert.ok(Math.abs((await nav.boundingBox()).y) < 1, `${label}: the nav stays on top`);
  await page.evaluate(() => scrollTo(0, 0));
}

for (const kind of ['seed', 'detail']) {
  test(`${kind} CSV at ${VIEWPORTS.map((v) => `${v.width}×${v.height}`).join(' and ')}: no sideways scroll, the figures inside their cards, keys cut short, the what-if one tap away`, async () => {
    const path = kind === 'seed' ? CONSOLIDATED : await writeDetailCsv(suite.dir);
    const page = await suite.browser.newPage();
    await page.setViewportSize(VIEWPORTS[0]);
    await page.goto(suite.browser.base);
    await openFile(page, path);
    await page.locator('[data-testid="add-scenario"]').click();
    await waitIdle(page);
    if (kind === 'detail') {
      // A model mapping, with its rows and figures.
      const second = page.locator('[data-testid="scenario"]').nth(1);
      await second.locator('[data-testid="kind-models"]').check();
      await waitIdle(page);
    }
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(150); // the charts resize
      await waitIdle(page);
      const label = `${kind} ${viewport.width}×${viewport.height}`;
      await check(page, label, viewport);
      await screenshot(page, `layout-${kind}-${viewport.width}`);
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      console.log(`# ${label}: the page is ${height} px long`);
      if (kind === 'detail' && viewport.width < 600) {
        // 10,979 px before long tables folded on a phone; 9,483 after.
        assert.ok(height < 10_000, `${label}: the page is ${height} px long`);
        assert.ok((await page.locator('table.foldable').count()) >= 3, label);
      }
    }
    assert.deepEqual(page.events.errors, []);
  });
}
