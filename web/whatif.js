// The what-if section: what the price catalog offers (and what it could not),
// and one card per scenario: one price for every conversation (a catalog
// model or custom prices) or, for a detail CSV, a model mapping (mapping.js);
// the batch discount, the re-priced figures (what was re-priced, per source),
// the monthly projection as its headline, a chart of actual vs what-if per
// day, week or month (the page's grouping), and the re-priced rows as a CSV
// download. A card's state is its own; whether a typed price can be used is
// the engine's call. Money reads at people's precision, exact in its title
// and data-value.

import { el, append, byTestId, clear } from './dom.js';
import { count, percent } from './format.js';
import { subtractDecimals } from './decimal.js';
import { CUSTOM, defaultScenario, findModel, fromModel, isMapping } from './scenario.js';
import { modelPicker, priceNote, priceSource, scenarioLabel } from './catalog.js';
import { MappingEditor } from './mapping.js';
import { whatifChart } from './charts.js';
import { ESTIMATED, table } from './views.js';
import { dataTable, moneyText } from './tables.js';
import { periodName, periodTitle, sumPeriods, trendRange, unitFor } from './trends.js';

/** What a result re-priced (its `basis`), said on its card. */
const BASIS = {
  billed: 'Re-priced: the billed tokens of the detail file (billed_input_token, billed_output_token), against its billed price (billed_price).',
  estimated: "Re-priced: the Lambdas' estimate (input_token, output_token: the text's characters / 4), against its total_price.",
};

/** What the actual cost is, by the result's basis. */
const ACTUAL = { billed: 'the billed estimate', estimated: ESTIMATED };

/** A result's figures per source. */
const SOURCE_COLUMNS = [
  { key: 'source', label: 'Source', kind: 'key' },
  { key: 'records', label: 'Items', kind: 'count' },
  { key: 'actual', label: 'Actual (USD)', kind: 'money' },
  { key: 'whatif', label: 'What-if (USD)', kind: 'money' },
];

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
   * catalog; scenario: one of scenario.js's two kinds.
   * hooks: {
   *   checkPrices(texts) → Promise<boolean[]>: whether each is a plain decimal (the engine's rule),
   *   work(fn) → Promise: runs fn as the page's work in flight (data-pending),
   *   onChange(card, { typing }), onRemove(card), onExport(card),
   *   onFigures(card): its figures were shown, or taken off (stale)
   * }
   */
  constructor(id, catalog, scenario, hooks) {
    this.id = id;
    this.catalog = catalog;
    this.scenario = { ...scenario };
    this.hooks = hooks;
    this.destroyed = false;
    this.valid = false;
    this.file = null; // the open file: { detail, models }
    this.result = null; // the latest Explorer.whatif() shown
    this.trend = { grouping: 'auto', from: '', to: '', span: { first: '', last: '' } }; // how its chart groups days: the grouping, the filter's days, the file's
    this.#build();
    this.#showScenario();
    /**
     * The latest check of what the card shows: resolves to whether it can be
     * priced (null when a newer check decides). A scenario without usable
     * prices (no catalog, say) turns stale, asking for them.
     */
    this.checked = hooks.work(() => this.#check());
  }

  #build() {
    const id = (name) => `sc${this.id}-${name}`;
    this.select = modelPicker(this.catalog, { id: id('model'), data: { testid: 'model' }, on: { change: () => this.#edit(() => this.#pickModel()) } });
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

    const kind = (value, testid, label) =>
      el('label', { class: 'choice' }, el('input', { type: 'radio', name: id('kind'), value, data: { testid }, on: { change: () => this.#edit(() => this.#switchKind()) } }), ` ${label}`);
    this.kindBox = el(
      'fieldset',
      { class: 'scenario-kind', hidden: true, data: { testid: 'scenario-kind' } },
      el('legend', { text: 'Re-price' }),
      kind('all', 'kind-all', 'every conversation at one price'),
      kind('models', 'kind-models', 'chosen models; the others keep their billed cost'),
    );
    this.onePrice = el(
      'div',
      { class: 'scenario-form' },
      el('label', { htmlFor: id('model') }, 'Model'),
      this.select,
      el('label', { htmlFor: id('input') }, 'Input $ / 1K tokens'),
      this.input,
      el('label', { htmlFor: id('output') }, 'Output $ / 1K tokens'),
      this.output,
    );
    this.mapping = new MappingEditor(id('mapping'), this.catalog, isMapping(this.scenario) ? this.scenario.mappings : [], {
      describedBy: id('error'),
      onEdit: ({ typing }) => this.#edit(() => this.#changed(typing)),
    });

    this.total = el('div', { class: 'kpi-value', text: '–' });
    this.totalTile = el('div', { class: 'kpi', data: { testid: 'whatif-total', value: '', figure: '' } }, el('div', { class: 'kpi-label', text: 'Re-priced total' }), this.total);
    this.monthlyValue = el('div', { class: 'kpi-value', text: '–' });
    this.monthlyWindow = el('div', { class: 'kpi-basis' });
    this.monthly = el(
      'div',
      { class: 'kpi kpi-main', data: { testid: 'monthly-projection', value: '', figure: '' } },
      el('div', { class: 'kpi-label', text: 'Per month, projected' }),
      this.monthlyValue,
      this.monthlyWindow,
    );
    this.actual = el('dd', { data: { testid: 'whatif-actual', figure: '' } });
    this.difference = el('dd', { data: { testid: 'whatif-difference', figure: '' } });
    this.saving = el('dd', { data: { testid: 'whatif-saving', figure: '' } });
    this.basis = el('p', { class: 'muted small', data: { testid: 'whatif-basis' } });
    this.carried = el('p', { class: 'muted', hidden: true, data: { testid: 'rows-at-recorded-cost' } });
    this.bySource = el('div', { class: 'table-wrap', data: { testid: 'whatif-by-source' } });
    this.canvas = el('canvas', { attrs: { 'aria-label': 'actual cost as bars and what-if cost as a dashed line, per period (the figures are in the table below)', role: 'img' } });
    this.dailyTable = el('div', { class: 'table-wrap scroll', data: { testid: 'whatif-daily-table' } });
    this.exportButton = el('button', { type: 'button', text: 'Export re-priced CSV', data: { testid: 'export-csv' }, on: { click: () => this.hooks.onExport(this) } });
    this.removeButton = el('button', { type: 'button', class: 'link', text: 'Remove', data: { testid: 'remove-scenario' }, on: { click: () => this.hooks.onRemove(this) } });

    this.titleNode = el('h3', { id: id('title'), class: 'scenario-title', text: `Scenario ${this.id}` });
    this.root = el(
      'article',
      { class: 'card scenario', data: { testid: 'scenario' }, attrs: { 'aria-labelledby': id('title') } },
      el('header', { class: 'card-head' }, this.titleNode, this.removeButton),
      this.kindBox,
      this.onePrice,
      this.mapping.root,
      el('p', { class: 'scenario-batch' }, el('label', { class: 'check' }, this.batch, ` Batch inference (× ${this.catalog.batch_multiplier})`)),
      this.sourceNote,
      this.priceNote,
      this.error,
      el(
        'div',
        { class: 'scenario-figures' },
        el('div', { class: 'scenario-tiles' }, this.monthly, this.totalTile),
        el('dl', {}, el('dt', { text: 'Actual' }), this.actual, el('dt', { text: 'Difference' }), this.difference, el('dt', { text: 'Saving per month' }), this.saving),
      ),
      this.basis,
      this.carried,
      this.bySource,
      el('div', { class: 'chart small' }, this.canvas),
      el('details', { class: 'chart-data' }, el('summary', { text: 'Actual and what-if cost as a table' }), this.dailyTable),
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

  /**
   * The file just opened ({ detail, models }: Explorer.info()'s): a detail
   * CSV with models offers the model mapping; the mapped models are checked
   * against its own.
   */
  setFile({ detail, models }) {
    this.file = { detail, models: detail ? models : [] };
    this.mapping.setModels(this.file.models);
    this.#showKind();
    this.checked = this.hooks.work(() => this.#check());
  }

  #showScenario() {
    const s = this.scenario;
    // A model mapping's one-price boxes start at the default, should the card turn to one price.
    const one = isMapping(s) ? defaultScenario(this.catalog) : s;
    this.select.value = findModel(this.catalog, one.model) ? one.model : CUSTOM;
    this.input.value = one.input_per_1k;
    this.output.value = one.output_per_1k;
    this.batch.checked = !!s.batch;
    this.#kindInput(isMapping(s) ? 'models' : 'all').checked = true;
    this.#showSource();
  }

  #kindInput(value) {
    return this.kindBox.querySelector(`input[value="${value}"]`);
  }

  /** 'all' (one price for every conversation) or 'models' (a model mapping), as chosen. */
  get #kind() {
    return this.#kindInput('models').checked ? 'models' : 'all';
  }

  /**
   * The form of the kind chosen. The mapping is offered for a detail CSV with
   * models; a card that is one keeps the choice shown, to turn back.
   */
  #showKind() {
    const offered = !!this.file?.detail && this.file.models.length > 0;
    const models = this.#kind === 'models';
    this.#kindInput('models').disabled = !offered;
    this.kindBox.hidden = !offered && !models;
    this.onePrice.hidden = models;
    this.mapping.root.hidden = !models;
    this.sourceNote.hidden = models;
    this.priceNote.hidden = models || !this.priceNote.textContent;
  }

  /** Where the model's prices come from, when they hold, and the catalog's caveats about them. */
  #showSource() {
    const m = findModel(this.catalog, this.select.value);
    this.sourceNote.textContent = priceSource(m);
    this.priceNote.textContent = priceNote(m);
    this.#showKind();
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

  /** One price or a model mapping: a first mapping maps a model of the file to the card's one price. */
  #switchKind() {
    if (this.#kind === 'models' && this.mapping.isEmpty) {
      this.mapping.addRow({ model: this.select.value, input_per_1k: this.input.value.trim(), output_per_1k: this.output.value.trim() });
    }
    this.#showKind();
    return this.#changed();
  }

  /** The price boxes of the kind shown. */
  #priceBoxes() {
    return this.#kind === 'models' ? this.mapping.priceBoxes : [this.input, this.output];
  }

  /**
   * Has the engine check the prices shown, flags each box, and says what
   * keeps the card from being priced (a price, a model mapped twice, a
   * mapping on a file without models); such a card turns stale. Resolves to
   * whether it can be priced, or null when the boxes changed meanwhile (the
   * newer check decides).
   */
  async #check() {
    const boxes = this.#priceBoxes();
    const shown = boxes.map((box) => box.value);
    let plain;
    try {
      plain = await this.hooks.checkPrices(shown);
    } catch (e) {
      if (!this.destroyed) this.fail(`The prices could not be checked: ${e.message}`);
      return false;
    }
    const now = this.#priceBoxes();
    if (this.destroyed || now.length !== boxes.length || now.some((box, i) => box !== boxes[i] || box.value !== shown[i])) return null;
    boxes.forEach((box, i) => box.setAttribute('aria-invalid', String(!plain[i])));
    const problem = plain.every(Boolean) ? this.#mappingProblem() : priceProblem(shown);
    this.valid = !problem;
    if (this.valid) return true;
    this.#setStale(true);
    this.showError(problem);
    return false;
  }

  /** What keeps a model mapping from being priced ('' for nothing, and for a one-price card). */
  #mappingProblem() {
    if (this.#kind !== 'models') return '';
    if (this.file && !this.file.detail) {
      return 'A model mapping re-prices the models of a detail CSV (tally --detail); this file has none. Choose “every conversation at one price”.';
    }
    const [twice] = this.mapping.repeated;
    return twice === undefined ? '' : `“${twice || '(no model)'}” is mapped twice: map each model once.`;
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
      this.monthly.dataset.value = '';
      this.monthlyValue.textContent = '—';
    }
    this.hooks.onFigures?.(this);
  }

  /** The latest figures shown, or null while the card shows none (stale, or not priced yet). */
  get shownResult() {
    return this.stale || this.destroyed ? null : this.result;
  }

  /** The scenario in a few words ("Claude 3 Haiku, batch (× 0.5)"). */
  get label() {
    return scenarioLabel(this.catalog, this.scenario);
  }

  async #changed(typing = false) {
    this.checked = this.#check();
    if (!(await this.checked)) return;
    this.showError('');
    const batch = this.batch.checked;
    this.scenario =
      this.#kind === 'models'
        ? { mappings: this.mapping.mappings, batch }
        : { model: this.select.value, input_per_1k: this.input.value.trim(), output_per_1k: this.output.value.trim(), batch };
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

  /**
   * Shows an Explorer.whatif() result (of the card's scenario); `trend`: {
   * grouping, from, to, span } (the page's grouping, the filter's days it was
   * asked for, the file's first and last day), which its chart and table follow.
   */
  render(result, trend = this.trend) {
    if (this.destroyed) return;
    this.result = result;
    this.trend = trend;
    this.#setStale(false);
    this.totalTile.dataset.value = result.whatif_cost;
    clear(this.total).append(moneyText(result.whatif_cost));
    clear(this.actual).append(moneyText(result.actual_cost), ` for ${count(result.records)} items, `, el('span', { class: 'basis-tag', data: { testid: 'actual-basis' }, text: ACTUAL[result.basis] ?? result.basis }));
    this.actual.dataset.value = result.actual_cost;
    clear(this.difference).append(moneyText(result.difference, true), ` (${percent(result.difference_pct)})`);
    this.difference.dataset.value = result.difference;
    this.difference.dataset.pct = result.difference_pct;
    this.difference.classList.toggle('up', !result.difference.startsWith('-') && /[1-9]/.test(result.difference));
    this.difference.classList.toggle('down', result.difference.startsWith('-'));
    this.#showMonthly(result);
    this.basis.dataset.basis = result.basis;
    this.basis.textContent = BASIS[result.basis] ?? '';
    this.#showCarried(result);
    clear(this.bySource).append(dataTable(SOURCE_COLUMNS, result.by_source, { rowTestId: 'whatif-source-row' }));
    this.#showTrend();
  }

  /** The monthly projection (the card's headline) and the saving per month against the actual at that rate. */
  #showMonthly(result) {
    this.monthly.dataset.value = result.monthly_projection;
    if (!result.window_end) {
      this.monthlyValue.textContent = '—';
      this.monthlyWindow.textContent = 'no dated conversations';
      this.saving.textContent = '—';
      this.saving.dataset.value = '';
      return;
    }
    clear(this.monthlyValue).append(moneyText(result.monthly_projection));
    const rate = result.window_days === 30 ? 'the last 30 days of data' : `the ${result.window_days} day${result.window_days === 1 ? '' : 's'} of data`;
    const day = (text) => el('span', { class: 'day', text });
    clear(this.monthlyWindow).append(`per 30 days at the rate of ${rate}, `, day(result.window_start), ' to ', day(result.window_end), ' (actual at that rate: ', moneyText(result.monthly_actual), ')');
    const saving = subtractDecimals(result.monthly_actual, result.monthly_projection);
    this.saving.dataset.value = saving;
    const more = saving.startsWith('-') && /[1-9]/.test(saving);
    clear(this.saving).append(moneyText(saving.replace(/^-/, '')), more ? ' more per month than the actual' : ' per month');
    this.saving.classList.toggle('up', more);
    this.saving.classList.toggle('down', !more && /[1-9]/.test(saving));
  }

  /** Regroups the chart and table of the figures shown (the page's grouping changed). */
  regroup(grouping) {
    this.trend = { ...this.trend, grouping };
    if (this.result && !this.destroyed) this.#showTrend();
  }

  /** The chart (actual bars, what-if dashed line) and its table, per day, week or month. */
  #showTrend() {
    const { daily, basis } = this.result;
    const range = trendRange(this.trend, daily, this.trend.span);
    const unit = unitFor(this.trend.grouping, range);
    const periods = sumPeriods(daily, unit, range, { money: ['actual', 'whatif'] });
    this.root.dataset.unit = unit;
    this.chart.update({ periods, unit, titles: periods.map((p) => periodTitle(p, unit)), actualLabel: basis === 'billed' ? 'actual (billed estimate)' : 'actual (estimated)' });
    const columns = [
      ['period', { day: 'Day', week: 'Week', month: 'Month' }[unit], 'date', () => ''],
      ['actual', 'Actual (USD)', 'num', (v) => moneyText(v)],
      ['whatif', 'What-if (USD)', 'num', (v) => moneyText(v)],
    ];
    const rows = periods.map((p) => ({ ...p, period: p.start }));
    const rowProps = (p) => ({ data: { testid: 'whatif-period-row', start: p.start, end: p.end, key: p.key } });
    if (rows.length === 0) {
      this.dailyTable.replaceChildren(el('p', { class: 'muted', text: 'No dated conversations match the filter.' }));
      return;
    }
    const t = table(columns, rows, rowProps);
    t.querySelectorAll('td[data-col="period"]').forEach((td, i) => td.append(periodName(periods[i], unit)));
    this.dailyTable.replaceChildren(t);
  }

  /** The conversations that kept their cost: without tokens, or (a model mapping) of a model not mapped. */
  #showCarried({ rows_at_recorded_cost: kept, records }) {
    this.carried.dataset.value = String(kept);
    if (isMapping(this.scenario)) {
      this.carried.hidden = false;
      this.carried.textContent = `${count(records - kept)} of ${count(records)} conversations re-priced; ${count(kept)} keep their billed cost (a model not mapped, or no tokens).`;
      return;
    }
    this.carried.hidden = kept === 0;
    this.carried.textContent = `${count(kept)} items without token counts are kept at their recorded cost.`;
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

/** What is wrong with prices the engine did not take. */
function priceProblem(shown) {
  return shown.every((text) => !text.trim()) ? 'Enter the input and output prices (plain decimals, e.g. 0.003).' : 'Prices must be plain decimals, e.g. 0.003.';
}
