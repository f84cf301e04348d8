// The what-if section: what the price catalog offers (and what it could not),
// and one card per scenario: model picker (from the catalog) or custom
// prices, the batch discount, the re-priced figures, a chart of actual vs
// what-if per day, and the re-priced rows as a CSV download. A card's state
// is its own; whether a typed price can be used is the engine's call.

import { el, append, byTestId, clear } from './dom.js';
import { count, money, percent, signedMoney } from './format.js';
import { CUSTOM, findModel, fromModel } from './scenario.js';
import { whatifChart } from './charts.js';
import { table } from './views.js';

/** A catalog field shown as text: strings only (the catalog is hand-edited data). */
const text = (value, fallback) => (typeof value === 'string' && value ? value : fallback);

/** When a catalog price holds: "as of 2026-09", or "list price before 2025-12-01 (price table of 2026-09)". */
function priceDate(m) {
  const date = text(m.date, '?');
  if (text(m.valid_until, '')) return `list price before ${m.valid_until} (price table of ${date})`;
  if (text(m.valid_from, '')) return `price from ${m.valid_from} (price table of ${date})`;
  return `as of ${date}`;
}

/**
 * What the catalog offers, into the what-if section `root` (its
 * catalog-note, catalog-error and catalog-problems): `catalog` as checked by
 * the engine, or `error` when none could be used (custom prices only).
 */
export function renderCatalog(root, { catalog, error }) {
  const { models, unit, as_of: asOf, dropped, warnings } = catalog;
  byTestId('catalog-note', root).textContent = error
    ? 'Prices: web/prices.json could not be used; enter custom prices (USD per 1,000 tokens).'
    : `Prices: web/prices.json, ${models.length} models, ${typeof unit === 'string' ? unit : 'per 1K tokens'}, as of ${typeof asOf === 'string' ? asOf : '?'}.`;
  const box = byTestId('catalog-error', root);
  box.textContent = error ? `The price catalog could not be used: ${error.message}. Custom prices still work.` : '';
  box.hidden = !error;
  renderCatalogProblems(byTestId('catalog-problems', root), dropped, warnings);
}

/** The catalog entries left out, and other catalog problems, listed (as text). */
function renderCatalogProblems(root, dropped, warnings) {
  clear(root).hidden = dropped.length === 0 && warnings.length === 0;
  if (dropped.length) {
    root.append(
      el('p', { class: 'warning', text: `${dropped.length} ${dropped.length === 1 ? 'entry' : 'entries'} of the price catalog could not be used and ${dropped.length === 1 ? 'is' : 'are'} not offered:` }),
      el('ul', { data: { testid: 'catalog-dropped' } }, dropped.map(({ entry, reason }) => el('li', {}, el('code', { text: entry }), `: ${reason}`))),
    );
  }
  for (const warning of warnings) root.append(el('p', { class: 'warning', text: `Price catalog: ${warning}.` }));
}

export class ScenarioCard {
  /**
   * id: unique on the page (element ids derive from it); catalog: the checked
   * catalog; scenario: { model, input_per_1k, output_per_1k, batch }.
   * hooks: {
   *   checkPrices(texts) → Promise<boolean[]>: whether each is a plain decimal (the engine's rule),
   *   work(fn) → Promise: runs fn as the page's work in flight (data-pending),
   *   onChange(card, { typing }), onRemove(card), onExport(card)
   * }
   */
  constructor(id, catalog, scenario, hooks) {
    this.id = id;
    this.catalog = catalog;
    this.scenario = { ...scenario };
    this.hooks = hooks;
    this.destroyed = false;
    this.valid = false;
    this.#build();
    this.#showScenario();
    /**
     * The latest price check: resolves to whether the prices shown can be
     * used (null when a newer check decides). A scenario without usable
     * prices (no catalog, say) turns stale, asking for them.
     */
    this.checked = hooks.work(() => this.#checkPrices());
  }

  #build() {
    const id = (name) => `sc${this.id}-${name}`;
    this.select = el(
      'select',
      { id: id('model'), data: { testid: 'model' }, on: { change: () => this.#edit(() => this.#pickModel()) } },
      this.catalog.models.map((m) => el('option', { value: m.id, text: `${m.name} — ${m.input_per_1k} / ${m.output_per_1k}` })),
      el('option', { value: CUSTOM, text: 'Custom prices' }),
    );
    const priceInput = (key, testid) =>
      el('input', {
        id: id(key),
        type: 'text',
        inputMode: 'decimal',
        autocomplete: 'off',
        spellcheck: false,
        data: { testid },
        attrs: { 'aria-describedby': id('error') },
        on: { input: () => this.#edit(() => this.#editPrices()) },
      });
    this.input = priceInput('input', 'price-input');
    this.output = priceInput('output', 'price-output');
    this.batch = el('input', { id: id('batch'), type: 'checkbox', data: { testid: 'batch' }, on: { change: () => this.#edit(() => this.#changed()) } });
    this.sourceNote = el('p', { class: 'price-source muted', data: { testid: 'price-source' } });
    this.priceNote = el('p', { class: 'price-note', hidden: true, data: { testid: 'price-note' } });
    this.error = el('p', { id: id('error'), class: 'error', hidden: true, data: { testid: 'scenario-error' } });

    this.total = el('div', { class: 'kpi-value', text: '–' });
    this.totalTile = el('div', { class: 'kpi', data: { testid: 'whatif-total', value: '' } }, el('div', { class: 'kpi-label', text: 'Re-priced total' }), this.total);
    this.actual = el('dd', { data: { testid: 'whatif-actual' } });
    this.difference = el('dd', { data: { testid: 'whatif-difference' } });
    this.monthly = el('dd', { data: { testid: 'monthly-projection' } });
    this.carried = el('p', { class: 'muted', hidden: true, data: { testid: 'rows-at-recorded-cost' } });
    this.canvas = el('canvas', { attrs: { 'aria-label': 'actual and what-if cost per day (the figures are in the table below)', role: 'img' } });
    this.dailyTable = el('div', { class: 'table-wrap scroll', data: { testid: 'whatif-daily-table' } });
    this.exportButton = el('button', { type: 'button', text: 'Export re-priced CSV', data: { testid: 'export-csv' }, on: { click: () => this.hooks.onExport(this) } });
    this.removeButton = el('button', { type: 'button', class: 'link', text: 'Remove', data: { testid: 'remove-scenario' }, on: { click: () => this.hooks.onRemove(this) } });

    this.titleNode = el('h3', { id: id('title'), class: 'scenario-title', text: `Scenario ${this.id}` });
    this.root = el(
      'article',
      { class: 'card scenario', data: { testid: 'scenario' }, attrs: { 'aria-labelledby': id('title') } },
      el('header', { class: 'card-head' }, this.titleNode, this.removeButton),
      el(
        'div',
        { class: 'scenario-form' },
        el('label', { htmlFor: id('model') }, 'Model'),
        this.select,
        el('label', { htmlFor: id('input') }, 'Input $ / 1K tokens'),
        this.input,
        el('label', { htmlFor: id('output') }, 'Output $ / 1K tokens'),
        this.output,
        el('span'),
        el('label', { class: 'check' }, this.batch, ` Batch inference (× ${this.catalog.batch_multiplier})`),
      ),
      this.sourceNote,
      this.priceNote,
      this.error,
      el(
        'div',
        { class: 'scenario-figures' },
        this.totalTile,
        el('dl', {}, el('dt', { text: 'Actual' }), this.actual, el('dt', { text: 'Difference' }), this.difference, el('dt', { text: 'Projected month' }), this.monthly),
      ),
      this.carried,
      el('div', { class: 'chart small' }, this.canvas),
      el('details', { class: 'chart-data' }, el('summary', { text: 'Actual and what-if cost per day as a table' }), this.dailyTable),
      el('div', { class: 'card-foot' }, this.exportButton),
    );
    this.chart = whatifChart(this.canvas);
  }

  /**
   * Its place among the cards: the first carries the stable data-kpi hook of
   * the what-if total; a lone card cannot be removed.
   */
  setPlace(index, cards) {
    if (index === 0) this.totalTile.dataset.kpi = 'whatif_total_cost';
    else delete this.totalTile.dataset.kpi;
    this.titleNode.textContent = `Scenario ${index + 1}`;
    this.removeButton.setAttribute('aria-label', `Remove scenario ${index + 1}`);
    this.removeButton.hidden = cards === 1;
  }

  #showScenario() {
    const s = this.scenario;
    this.select.value = findModel(this.catalog, s.model) ? s.model : CUSTOM;
    this.input.value = s.input_per_1k;
    this.output.value = s.output_per_1k;
    this.batch.checked = !!s.batch;
    this.#showSource();
  }

  /** Where the model's prices come from, when they hold, and the catalog's caveats about them. */
  #showSource() {
    const m = findModel(this.catalog, this.select.value);
    this.sourceNote.textContent = m ? `Source: ${text(m.source, 'not given')}; ${priceDate(m)}.` : 'Custom prices (per 1,000 tokens, USD).';
    this.priceNote.textContent = m ? text(m.note, '') : '';
    this.priceNote.hidden = !this.priceNote.textContent;
  }

  /** Handles an edit as the page's work in flight, until the card has told the page (or failed). */
  #edit(fn) {
    this.hooks.work(fn).catch((e) => this.destroyed || this.fail(e.message));
  }

  #pickModel() {
    const m = findModel(this.catalog, this.select.value);
    if (m) {
      const next = fromModel(m, this.batch.checked);
      this.input.value = next.input_per_1k;
      this.output.value = next.output_per_1k;
    }
    this.#showSource();
    return this.#changed();
  }

  #editPrices() {
    const m = findModel(this.catalog, this.select.value);
    if (m && (m.input_per_1k !== this.input.value.trim() || m.output_per_1k !== this.output.value.trim())) {
      this.select.value = CUSTOM;
      this.#showSource();
    }
    return this.#changed(true);
  }

  /**
   * Has the engine check the prices shown, flags each box and says what is
   * wrong; a card with unusable prices turns stale. Resolves to whether both
   * can be used, or null when the boxes changed meanwhile (the newer check decides).
   */
  async #checkPrices() {
    const shown = [this.input.value, this.output.value];
    let plain;
    try {
      plain = await this.hooks.checkPrices(shown);
    } catch (e) {
      if (!this.destroyed) this.fail(`The prices could not be checked: ${e.message}`);
      return false;
    }
    if (this.destroyed || this.input.value !== shown[0] || this.output.value !== shown[1]) return null;
    [this.input, this.output].forEach((box, i) => box.setAttribute('aria-invalid', String(!plain[i])));
    this.valid = plain[0] && plain[1];
    if (this.valid) return true;
    const empty = !shown[0].trim() && !shown[1].trim();
    this.#setStale(true);
    this.showError(empty ? 'Enter the input and output prices (plain decimals, e.g. 0.003).' : 'Prices must be plain decimals, e.g. 0.003.');
    return false;
  }

  /**
   * A stale card's figures are not those of its prices (they are invalid):
   * no total is shown until valid prices are priced again.
   */
  #setStale(stale) {
    this.stale = stale;
    this.root.classList.toggle('stale', stale);
    this.exportButton.disabled = stale;
    if (stale) {
      this.totalTile.dataset.value = '';
      this.total.textContent = '—';
    }
  }

  async #changed(typing = false) {
    this.checked = this.#checkPrices();
    if (!(await this.checked)) return;
    this.showError('');
    this.scenario = {
      model: this.select.value,
      input_per_1k: this.input.value.trim(),
      output_per_1k: this.output.value.trim(),
      batch: this.batch.checked,
    };
    this.hooks.onChange(this, { typing });
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  /** The engine could not price the scenario: say why, and leave no old total on screen. */
  fail(message) {
    this.#setStale(true);
    this.showError(message);
  }

  /** Shows an Explorer.whatif() result. */
  render(result) {
    if (this.destroyed) return;
    this.#setStale(false);
    this.totalTile.dataset.value = result.whatif_cost;
    this.total.textContent = money(result.whatif_cost);
    this.actual.textContent = `${money(result.actual_cost)} for ${count(result.records)} conversations`;
    this.actual.dataset.value = result.actual_cost;
    this.difference.textContent = `${signedMoney(result.difference)} (${percent(result.difference_pct)})`;
    this.difference.dataset.value = result.difference;
    this.difference.dataset.pct = result.difference_pct;
    this.difference.classList.toggle('up', !result.difference.startsWith('-') && /[1-9]/.test(result.difference));
    this.difference.classList.toggle('down', result.difference.startsWith('-'));
    this.monthly.dataset.value = result.monthly_projection;
    if (result.window_end) {
      this.monthly.replaceChildren();
      append(
        this.monthly,
        el('strong', { text: money(result.monthly_projection) }),
        ` per 30 days, at the rate of ${result.window_days === 30 ? 'the last 30 days of data' : `the ${result.window_days} day${result.window_days === 1 ? '' : 's'} of data`}, ${result.window_start} to ${result.window_end} (actual at that rate: ${money(result.monthly_actual)})`,
      );
    } else {
      this.monthly.textContent = '— (no dated conversations)';
    }
    this.carried.hidden = result.rows_at_recorded_cost === 0;
    this.carried.textContent = `${count(result.rows_at_recorded_cost)} conversations without token counts are kept at their recorded cost.`;
    this.chart.update(result);
    const columns = [
      ['day', 'Day', 'date'],
      ['actual', 'Actual', 'num', money],
      ['whatif', 'What-if', 'num', money],
    ];
    this.dailyTable.replaceChildren(
      result.daily.length ? table(columns, result.daily, () => ({ data: { testid: 'whatif-day-row' } })) : el('p', { class: 'muted', text: 'No dated conversations match the filter.' }),
    );
  }

  /** The card's name, as headed: "Scenario 2". */
  get name() {
    return this.titleNode.textContent;
  }

  /** Removes the card; it renders nothing afterwards. */
  destroy() {
    this.destroyed = true;
    this.chart.destroy();
    this.root.remove();
  }
}
