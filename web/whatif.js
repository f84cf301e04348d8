// One what-if scenario card: model picker (from the price catalog) or custom
// prices, the batch discount, the re-priced figures, a chart of actual vs
// what-if per day, and the re-priced rows as a CSV download.

import { el, append } from './dom.js';
import { count, money, percent, signedMoney } from './format.js';
import { CUSTOM, findModel, fromModel, isPrice } from './scenario.js';
import { whatifChart } from './charts.js';
import { table } from './views.js';

let serial = 0;

/** A catalog field shown as text: strings only (the catalog is hand-edited data). */
const text = (value, fallback) => (typeof value === 'string' && value ? value : fallback);

/** When a catalog price holds: "as of 2026-09", or "list price before 2025-12-01 (price table of 2026-09)". */
function priceDate(m) {
  const date = text(m.date, '?');
  if (text(m.valid_until, '')) return `list price before ${m.valid_until} (price table of ${date})`;
  if (text(m.valid_from, '')) return `price from ${m.valid_from} (price table of ${date})`;
  return `as of ${date}`;
}

export class ScenarioCard {
  /**
   * scenario: { model, input_per_1k, output_per_1k, batch }
   * hooks: { onChange(card, { typing }), onRemove(card), onExport(card) }
   */
  constructor(catalog, scenario, hooks) {
    this.catalog = catalog;
    this.scenario = { ...scenario };
    this.hooks = hooks;
    this.id = ++serial;
    this.destroyed = false;
    this.#build();
    this.#showScenario();
    // A scenario without usable prices (no catalog, say) starts stale, asking for them.
    if (!this.#checkPrices()) this.#setStale(true);
  }

  #build() {
    const id = (name) => `sc${this.id}-${name}`;
    this.select = el(
      'select',
      { id: id('model'), data: { testid: 'model' }, on: { change: () => this.#pickModel() } },
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
        on: { input: () => this.#editPrices() },
      });
    this.input = priceInput('input', 'price-input');
    this.output = priceInput('output', 'price-output');
    this.batch = el('input', { id: id('batch'), type: 'checkbox', data: { testid: 'batch' }, on: { change: () => this.#changed() } });
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

  #pickModel() {
    const m = findModel(this.catalog, this.select.value);
    if (m) {
      const next = fromModel(m, this.batch.checked);
      this.input.value = next.input_per_1k;
      this.output.value = next.output_per_1k;
    }
    this.#showSource();
    this.#changed();
  }

  #editPrices() {
    const m = findModel(this.catalog, this.select.value);
    if (m && (m.input_per_1k !== this.input.value.trim() || m.output_per_1k !== this.output.value.trim())) {
      this.select.value = CUSTOM;
      this.#showSource();
    }
    this.#changed(true);
  }

  /** Whether both prices are valid decimals. */
  get valid() {
    return isPrice(this.input.value) && isPrice(this.output.value);
  }

  /** Flags each price box, and says what is wrong; true when both prices are valid. */
  #checkPrices() {
    for (const box of [this.input, this.output]) box.setAttribute('aria-invalid', String(!isPrice(box.value)));
    if (this.valid) return true;
    const empty = !this.input.value.trim() && !this.output.value.trim();
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

  #changed(typing = false) {
    if (!this.#checkPrices()) {
      this.#setStale(true);
      return;
    }
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
