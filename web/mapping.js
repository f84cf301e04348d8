// A scenario card's model mapping, for a detail CSV: one row per model of the
// file whose conversations are priced otherwise ("the conversations of
// claude-v3.5-sonnet, priced as Claude Haiku 4.5": a catalog model or custom
// per-1K prices); the other models keep their billed cost. The rows hold
// their state in their controls; the editor says which mapped models the open
// file does not have (they are ignored, not an error). Model names from the
// file go in as text.

import { el, clear } from './dom.js';
import { CUSTOM, MAX_MAPPINGS, findModel } from './scenario.js';
import { modelPicker, priceNote, priceSource } from './catalog.js';
import { keyText } from './tables.js';

/** How a model name reads in a picker: the empty one is the conversations without a model. */
const modelLabel = (name) => name || '(no model)';

/** Names by code point, as the page's other model pickers sort them. */
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

export class MappingEditor {
  #rows = [];
  #models = null; // the open file's models; null before a file is open
  #serial = 0;

  /**
   * prefix: element ids start with it; catalog: the checked catalog;
   * mappings: the rows to show ([{ from, model, input_per_1k, output_per_1k }]);
   * describedBy: the id of the element that says what is wrong;
   * onEdit({ typing }): a row was edited (typing: a price is being typed).
   */
  constructor(prefix, catalog, mappings, { describedBy, onEdit }) {
    this.prefix = prefix;
    this.catalog = catalog;
    this.describedBy = describedBy;
    this.onEdit = onEdit;
    this.list = el('div', { class: 'mapping-rows' });
    this.ignored = el('p', { class: 'warning small', hidden: true, data: { testid: 'mapping-ignored' } });
    this.addButton = el('button', { type: 'button', text: 'Map another model', data: { testid: 'map-add' }, on: { click: () => this.#addAndTell() } });
    this.root = el(
      'div',
      { class: 'mapping', data: { testid: 'mapping' } },
      el('p', { class: 'muted small', text: 'A conversation counts as its model (the file’s model column: the model of most of its turns). Those of the models below at other prices; every other conversation keeps its billed cost.' }),
      this.list,
      this.ignored,
      this.addButton,
    );
    for (const m of mappings) this.#addRow(m);
    this.#showRows();
  }

  /** The mapped models, as shown: [{ from, model, input_per_1k, output_per_1k }]. */
  get mappings() {
    return this.#rows.map((r) => ({ from: r.from.value, model: r.target.value, input_per_1k: r.input.value.trim(), output_per_1k: r.output.value.trim() }));
  }

  /** Every price box, two per row, in the order of `mappings`. */
  get priceBoxes() {
    return this.#rows.flatMap((r) => [r.input, r.output]);
  }

  get isEmpty() {
    return this.#rows.length === 0;
  }

  /** The models mapped more than once. */
  get repeated() {
    const names = this.mappings.map((m) => m.from);
    return [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
  }

  /** The open file's models (an empty list for a file without them). */
  setModels(models) {
    this.#models = [...models].sort(byName);
    for (const row of this.#rows) this.#showChoices(row);
    this.#showRows();
  }

  /** Maps the first model of the file not mapped yet to `target` ({ model, input_per_1k, output_per_1k }). */
  addRow(target) {
    const [from] = this.#unmapped();
    if (from !== undefined) this.#addRow({ ...target, from });
    this.#showRows();
  }

  #unmapped() {
    const mapped = new Set(this.mappings.map((m) => m.from));
    return (this.#models ?? []).filter((name) => !mapped.has(name));
  }

  /** "Map another model": the next one, at the last row's prices. */
  #addAndTell() {
    const last = this.mappings.at(-1);
    this.addRow(last ?? { model: CUSTOM, input_per_1k: '', output_per_1k: '' });
    this.onEdit({ typing: false });
  }

  #addRow(mapping) {
    const n = ++this.#serial;
    const id = (name) => `${this.prefix}-map${n}-${name}`;
    const priceBox = (key, testid, value) =>
      el('input', {
        id: id(key),
        type: 'text',
        inputMode: 'decimal',
        autocomplete: 'off',
        spellcheck: false,
        value,
        data: { testid },
        attrs: { 'aria-describedby': this.describedBy },
        on: { input: () => this.#priceTyped(row) },
      });
    const row = {
      from: el('select', { id: id('from'), data: { testid: 'map-from' }, on: { change: () => this.#fromPicked() } }),
      target: modelPicker(this.catalog, { id: id('target'), data: { testid: 'map-target' }, on: { change: () => this.#targetPicked(row) } }),
      input: priceBox('input', 'map-input', mapping.input_per_1k),
      output: priceBox('output', 'map-output', mapping.output_per_1k),
      source: el('p', { class: 'price-source muted', data: { testid: 'map-source' } }),
      number: el('span'),
      remove: el('button', { type: 'button', class: 'link', text: 'Remove', data: { testid: 'map-remove' }, on: { click: () => this.#remove(row) } }),
    };
    row.from.append(el('option', { value: mapping.from, text: modelLabel(mapping.from) }));
    row.from.value = mapping.from;
    row.target.value = findModel(this.catalog, mapping.model) ? mapping.model : CUSTOM;
    row.root = el(
      'fieldset',
      { class: 'mapping-row', data: { testid: 'mapping-row' } },
      el('legend', {}, 'Mapped model ', row.number, ' ', row.remove),
      el(
        'div',
        { class: 'scenario-form' },
        el('label', { htmlFor: id('from') }, 'Conversations of'),
        row.from,
        el('label', { htmlFor: id('target') }, 'Priced as'),
        row.target,
        el('label', { htmlFor: id('input') }, 'Input $ / 1K tokens'),
        row.input,
        el('label', { htmlFor: id('output') }, 'Output $ / 1K tokens'),
        row.output,
      ),
      row.source,
    );
    this.#rows.push(row);
    this.list.append(row.root);
    this.#showChoices(row);
    this.#showSource(row);
  }

  /** A row's model choices: the file's models, and the one it maps when the file has not got it. */
  #showChoices(row) {
    const chosen = row.from.value;
    const names = this.#models ?? [];
    const missing = names.includes(chosen) ? [] : [el('option', { value: chosen, text: `${modelLabel(chosen)} (not in this file)` })];
    clear(row.from).append(...missing, ...names.map((name) => el('option', { value: name, text: modelLabel(name) })));
    row.from.value = chosen;
  }

  #showSource(row) {
    const m = findModel(this.catalog, row.target.value);
    row.source.textContent = [priceSource(m), priceNote(m)].filter(Boolean).join(' ');
  }

  #fromPicked() {
    this.#showRows();
    this.onEdit({ typing: false });
  }

  #targetPicked(row) {
    const m = findModel(this.catalog, row.target.value);
    if (m) {
      row.input.value = m.input_per_1k;
      row.output.value = m.output_per_1k;
    }
    this.#showSource(row);
    this.onEdit({ typing: false });
  }

  /** Typed prices that are not the catalog model's make the row custom. */
  #priceTyped(row) {
    const m = findModel(this.catalog, row.target.value);
    if (m && (m.input_per_1k !== row.input.value.trim() || m.output_per_1k !== row.output.value.trim())) {
      row.target.value = CUSTOM;
      this.#showSource(row);
    }
    this.onEdit({ typing: true });
  }

  #remove(row) {
    this.#rows = this.#rows.filter((r) => r !== row);
    row.root.remove();
    this.#showRows();
    this.onEdit({ typing: false });
  }

  /**
   * The rows' numbers and titles, which of them the file has not got (said
   * once below them), and whether another can be added or one removed.
   */
  #showRows() {
    this.#rows.forEach((row, i) => {
      row.number.textContent = String(i + 1);
      row.remove.setAttribute('aria-label', `Remove mapped model ${i + 1}`);
      row.remove.hidden = this.#rows.length === 1;
      row.from.title = row.from.value;
    });
    const missing = this.#models === null ? [] : this.#rows.filter((r) => !this.#models.includes(r.from.value));
    for (const row of this.#rows) row.root.classList.toggle('ignored', missing.includes(row));
    clear(this.ignored).hidden = missing.length === 0;
    if (missing.length) {
      const names = missing.flatMap((r, i) => [i ? ', ' : '', keyText(r.from.value, '(no model)')]);
      this.ignored.append('Not in this file, so not applied: ', ...names, '.');
    }
    this.addButton.disabled = this.#rows.length >= MAX_MAPPINGS || this.#unmapped().length === 0;
  }
}
