// The page's charts, drawn by Chart.js (web/vendor/chart.umd.min.js, loaded
// by index.html as a classic script). Charts draw text on a canvas, so CSV
// values used as labels (source names) are never parsed as HTML. Money
// strings become numbers here only to be drawn; figures shown as text come
// from the exact strings.

import { el } from './dom.js';
import { percentRange, readableMoney } from './format.js';

// Okabe and Ito's palette, told apart with every common colour-vision deficiency:
// every series of every chart takes its colour from here.
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

const Chart = globalThis.Chart;

/** Whether the charting library loaded (the page still works without it). */
export const chartsAvailable = typeof Chart === 'function';

/**
 * An axis tick in dollars: "$0.002", "$1,500" (ticks are the library's
 * floats, only drawn; figures read as text come from the exact strings).
 */
// One formatter each: toLocaleString with options builds a new one per call (50 ms of a load, measured).
const MONEY_TICKS = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 });
const COUNT_TICKS = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const axisMoney = (v) => `$${MONEY_TICKS.format(Number(v))}`;
const axisCount = (v) => COUNT_TICKS.format(Number(v));

/**
 * Options shared by the charts. `money`: the y axis is in dollars, and each
 * dataset's `exact` (its amounts as decimal strings) is what its tooltip
 * reads; `titles()`: each point's tooltip heading.
 */
function base(yTitle, { money = true, titles = null } = {}) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    normalized: true,
    locale: 'en-US',
    interaction: { mode: 'index', intersect: false },
    plugins: {
      legend: { position: 'bottom' },
      tooltip: {
        callbacks: {
          ...(titles ? { title: (items) => (items.length ? titles()[items[0].dataIndex] : '') } : {}),
          label: (item) => {
            const exact = item.dataset.exact?.[item.dataIndex];
            const value = exact !== undefined ? readableMoney(exact) : money ? axisMoney(item.raw) : axisCount(item.raw);
            return `${item.dataset.label}: ${value}`;
          },
        },
      },
    },
    scales: {
      // sampleSize: measure a few labels, not every one (a long chart would stall).
      x: { ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12, sampleSize: 24 } },
      y: { beginAtZero: true, title: { display: !!yTitle, text: yTitle }, ticks: { callback: money ? axisMoney : axisCount } },
    },
  };
}

/**
 * A chart created on its first update, once its canvas is laid out (a chart
 * made inside a hidden section would draw twice: at size 0, then resized).
 */
function lazyChart(canvas, type, options) {
  let chart = null;
  let unavailable = false;
  let destroyed = false;
  return {
    update(labels, datasets, configure = () => {}) {
      // A destroyed chart stays destroyed: no new Chart on a detached canvas.
      if (unavailable || destroyed) return;
      if (!chartsAvailable) {
        unavailable = true;
        canvas.replaceWith(el('p', { class: 'muted', text: 'Charts are unavailable (web/vendor/ is missing: run `node web/tools/vendor.mjs`).' }));
        return;
      }
      configure(options);
      if (!chart) {
        chart = new Chart(canvas, { type, data: { labels, datasets }, options });
        return;
      }
      chart.data.labels = labels;
      chart.data.datasets = datasets;
      chart.options = options;
      chart.update('none');
    },
    destroy() {
      destroyed = true;
      chart?.destroy();
      chart = null;
    },
  };
}

const PER = { day: 'USD per day', week: 'USD per week', month: 'USD per month' };

/**
 * Cost stacked by source, per period (trends.js's sumPeriods of the views'
 * daily): update({ sources, periods, unit, titles }).
 */
export function dailyCostChart(canvas) {
  let titles = [];
  const options = base(PER.day, { titles: () => titles });
  options.scales.x.stacked = true;
  options.scales.y.stacked = true;
  const chart = lazyChart(canvas, 'bar', options);
  return {
    update({ sources, periods, unit, titles: heads }) {
      titles = heads;
      const datasets = sources
        .map((source, k) => ({
          label: source,
          exact: periods.map((p) => p.cost_by_source[k]),
          data: periods.map((p) => Number(p.cost_by_source[k])),
          backgroundColor: PALETTE[k % PALETTE.length],
          borderWidth: 0,
          barPercentage: 1,
          categoryPercentage: 0.9,
          maxBarThickness: 48,
        }))
        .filter((set) => set.data.some((v) => v !== 0));
      chart.update(periods.map((p) => p.label), datasets, (o) => {
        o.scales.y.title.text = PER[unit];
      });
    },
  };
}

/**
 * Average cost per item by hour of day (UTC), every hour shown, bars on one
 * axis: update(hours), hours being views.js's hoursOfDay (24 rows).
 */
export function hourlyChart(canvas) {
  // The card's heading names the figure (average cost per item): the axis keeps its width for the hours.
  const options = base('');
  options.scales.x.title = { display: true, text: 'hour (UTC)' };
  // Every hour labelled: turned, rather than skipped, when the chart is narrow.
  options.scales.x.ticks = { autoSkip: false, maxRotation: 90, minRotation: 0, padding: 2, font: { size: 9 } };
  options.plugins.legend.display = false;
  const chart = lazyChart(canvas, 'bar', options);
  return {
    update(hours) {
      chart.update(
        hours.map((h) => String(h.hour).padStart(2, '0')),
        [
          {
            label: 'average cost per item',
            exact: hours.map((h) => (h.avg_cost === '' ? undefined : h.avg_cost)),
            data: hours.map((h) => (h.avg_cost === '' ? null : Number(h.avg_cost))),
            backgroundColor: PALETTE[0],
            categoryPercentage: 0.9,
            barPercentage: 1,
          },
        ],
      );
    },
  };
}

/**
 * Actual vs what-if cost per period: the actual as bars, the what-if as a
 * dashed line over them (visible where the two coincide):
 * update({ periods, unit, titles, actualLabel }).
 */
export function whatifChart(canvas) {
  let titles = [];
  const options = base(PER.day, { titles: () => titles });
  // The legend draws each series as it is drawn: a dashed line, a bar.
  options.plugins.legend.labels = { usePointStyle: true };
  const chart = lazyChart(canvas, 'bar', options);
  return {
    update({ periods, unit, titles: heads, actualLabel = 'actual' }) {
      titles = heads;
      const many = periods.length > 60;
      chart.update(
        periods.map((p) => p.label),
        [
          {
            type: 'line',
            label: 'what-if',
            exact: periods.map((p) => p.whatif),
            data: periods.map((p) => Number(p.whatif)),
            borderColor: PALETTE[3],
            backgroundColor: PALETTE[3],
            borderDash: [6, 4],
            borderWidth: 2,
            pointStyle: 'line',
            pointRadius: many ? 0 : 2.5,
            order: 0,
          },
          {
            type: 'bar',
            label: actualLabel,
            exact: periods.map((p) => p.actual),
            data: periods.map((p) => Number(p.actual)),
            backgroundColor: PALETTE[5],
            borderWidth: 0,
            barPercentage: 1,
            categoryPercentage: 0.9,
            maxBarThickness: 48,
            pointStyle: 'rect',
            order: 1,
          },
        ],
        (o) => {
          o.scales.y.title.text = PER[unit];
        },
      );
    },
    destroy() {
      chart.destroy();
    },
  };
}

/**
 * The error of the estimate per conversation, in bins of 10 %: update(accuracy).
 * Bins below 0 (the estimate under what was recorded) and from 0 (over it) in
 * two colours of the palette, named in the legend.
 */
export function errorHistogramChart(canvas) {
  const options = base('conversations', { money: false });
  options.scales.x.stacked = true;
  options.scales.y.stacked = true;
  options.scales.x.title = { display: true, text: 'estimate / recorded − 1' };
  const chart = lazyChart(canvas, 'bar', options);
  return {
    update(accuracy) {
      const bins = accuracy.histogram;
      const side = (label, color, keep) => ({
        label,
        data: bins.map((b) => (keep(b) ? b.conversations : null)),
        backgroundColor: color,
        borderWidth: 0,
        barPercentage: 1,
        categoryPercentage: 0.9,
      });
      chart.update(
        bins.map((b) => percentRange(b.from_pct, b.to_pct)),
        [side('estimate below recorded', PALETTE[0], (b) => b.from_pct < 0), side('estimate at or above recorded', PALETTE[1], (b) => b.from_pct >= 0)],
      );
    },
  };
}
