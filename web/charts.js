// The page's charts, drawn by Chart.js (web/vendor/chart.umd.min.js, loaded
// by index.html as a classic script). Charts draw text on a canvas, so CSV
// values used as labels (source names) are never parsed as HTML. Money
// strings become numbers here only to be drawn; figures shown as text come
// from the exact strings.

import { el } from './dom.js';
import { percentRange } from './format.js';

// Okabe and Ito's palette, told apart with every common colour-vision deficiency.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

const Chart = globalThis.Chart;

/** Whether the charting library loaded (the page still works without it). */
export const chartsAvailable = typeof Chart === 'function';

function base(yTitle) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    normalized: true,
    interaction: { mode: 'index', intersect: false },
    plugins: { legend: { position: 'bottom' } },
    scales: {
      // sampleSize: measure a few labels, not every day's (a long daily chart would stall).
      x: { ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12, sampleSize: 24 } },
      y: { beginAtZero: true, title: { display: !!yTitle, text: yTitle } },
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
    update(labels, datasets) {
      // A destroyed chart stays destroyed: no new Chart on a detached canvas.
      if (unavailable || destroyed) return;
      if (!chartsAvailable) {
        unavailable = true;
        canvas.replaceWith(el('p', { class: 'muted', text: 'Charts are unavailable (web/vendor/ is missing: run `node web/tools/vendor.mjs`).' }));
        return;
      }
      if (!chart) {
        chart = new Chart(canvas, { type, data: { labels, datasets }, options });
        return;
      }
      chart.data.labels = labels;
      chart.data.datasets = datasets;
      chart.update('none');
    },
    destroy() {
      destroyed = true;
      chart?.destroy();
      chart = null;
    },
  };
}

/** Daily cost, stacked by source: update(views). */
export function dailyCostChart(canvas) {
  const options = base('USD per day');
  options.scales.x.stacked = true;
  options.scales.y.stacked = true;
  const chart = lazyChart(canvas, 'bar', options);
  return {
    update(views) {
      const datasets = views.sources
        .map((source, k) => ({
          label: source,
          data: views.daily.map((d) => Number(d.cost_by_source[k])),
          backgroundColor: PALETTE[k % PALETTE.length],
          borderWidth: 0,
          barPercentage: 1,
          categoryPercentage: 0.9,
          maxBarThickness: 48,
        }))
        .filter((set) => set.data.some((v) => v !== 0));
      chart.update(views.daily.map((d) => d.day), datasets);
    },
  };
}

/** Average cost (bars) and tokens (lines) per conversation by hour of day: update(views). */
export function hourlyChart(canvas) {
  const options = base('USD per conversation');
  options.scales.tokens = { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'tokens' } };
  const chart = lazyChart(canvas, 'bar', options);
  return {
    update(views) {
      const byHour = new Map(views.hourly.map((h) => [h.hour, h]));
      const hours = Array.from({ length: 24 }, (_, h) => h);
      const pick = (h, key) => (byHour.has(h) ? Number(byHour.get(h)[key]) : null);
      chart.update(
        hours.map((h) => `${String(h).padStart(2, '0')}h`),
        [
          { type: 'bar', label: 'avg cost', data: hours.map((h) => pick(h, 'avg_cost')), backgroundColor: PALETTE[0], yAxisID: 'y', maxBarThickness: 32 },
          { type: 'line', label: 'avg input tokens', data: hours.map((h) => pick(h, 'avg_input')), borderColor: PALETTE[2], backgroundColor: PALETTE[2], yAxisID: 'tokens', pointRadius: 2 },
          { type: 'line', label: 'avg output tokens', data: hours.map((h) => pick(h, 'avg_output')), borderColor: PALETTE[3], backgroundColor: PALETTE[3], yAxisID: 'tokens', pointRadius: 2 },
        ],
      );
    },
  };
}

/** Actual vs what-if cost per day: update(whatif). */
export function whatifChart(canvas) {
  const chart = lazyChart(canvas, 'line', base('USD per day'));
  return {
    update(result) {
      const line = (label, key, color, dash = []) => ({
        label,
        borderDash: dash,
        data: result.daily.map((d) => Number(d[key])),
        borderColor: color,
        backgroundColor: color,
        pointRadius: result.daily.length > 60 ? 0 : 3,
        borderWidth: 1.5,
      });
      chart.update(result.daily.map((d) => d.day), [line('actual', 'actual', PALETTE[4], [5, 4]), line('what-if', 'whatif', PALETTE[1])]);
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
  const options = base('conversations');
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
