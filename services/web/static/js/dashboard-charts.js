// dashboard-charts.js — three charts from GET /api/v1/charts, with Chart.js
// (Debian's libjs-chart.js at /vendor/chart.js/): reports per day by type
// (stacked bars), the on-time verification rate by week (a line, 0-100 %),
// open cases by age (bars). Without Chart.js the section says so; the
// wards' table carries the figures anyway.
//
//   const charts = await chartsPanel({ perDay, onTime, age, note });
//   charts.set(answer);

import { code, lang } from './i18n.js';
import { dt } from './dashboard-i18n.js';

const TYPE_COLOURS = {
  waste_water: '#1d6fb8', air_emissions: '#8d6e63', solid_waste: '#5d8a00', noise: '#d98c00',
  odour: '#7b3fb3', soil: '#a1887f', other: '#78909c',
};

export async function chartsPanel (canvases) {
  let Chart = null;
  try {
    const mod = await import('/vendor/chart.js/chart.esm.js');
    Chart = mod.Chart;
    Chart.register(...mod.registerables);
    Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    Chart.defaults.color = '#3c4856';
    Chart.defaults.animation = false;       // live data: no replayed animations
  } catch (e) {
    if (canvases.note) { canvases.note.textContent = dt('no_charts'); canvases.note.hidden = false; }
    return { set () {} };
  }
  const made = {};

  function put (key, canvas, config) {
    if (made[key]) {
      made[key].data = config.data;
      made[key].options = config.options;
      made[key].update('none');
    } else {
      made[key] = new Chart(canvas, config);
    }
  }

  const short = (day) => {
    const [, m, d] = day.split('-');
    return lang() === 'en' ? `${d}/${m}` : `${d}/${m}`;
  };
  const base = { responsive: true, maintainAspectRatio: false,
                 plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, usePointStyle: true } } } };

  return {
    set (a) {
      const days = a.days || [];
      const types = Object.keys(a.per_day || {});
      put('perDay', canvases.perDay, {
        type: 'bar',
        data: { labels: days.map(short), datasets: types.map((t) => ({
          label: code('type', t), data: a.per_day[t], backgroundColor: TYPE_COLOURS[t] || '#90a4ae',
          borderWidth: 0, stack: 'all' })) },
        options: { ...base, scales: { x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 8 } },
                                     y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
      });
      const weeks = a.weeks || [];
      put('onTime', canvases.onTime, {
        type: 'line',
        data: { labels: weeks.map((w) => short(w.week)), datasets: [{
          label: dt('ch_on_time'), data: weeks.map((w) => w.pct), borderColor: '#137a63',
          backgroundColor: 'rgba(19,122,99,.12)', fill: true, spanGaps: true, tension: 0.25, pointRadius: 3 }] },
        options: { ...base, plugins: { ...base.plugins, legend: { display: false } },
                   scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } }, x: { grid: { display: false } } } },
      });
      const ages = a.open_by_age || [];
      put('age', canvases.age, {
        type: 'bar',
        data: { labels: ages.map((b) => dt(`age_${b.age}`)), datasets: [{
          label: dt('ch_age'), data: ages.map((b) => b.count),
          backgroundColor: ages.map((b, i) => ['#9fc5e8', '#6fa8dc', '#f6b26b', '#e69138', '#b3261e'][i] || '#999'),
          borderWidth: 0 }] },
        options: { ...base, plugins: { ...base.plugins, legend: { display: false } },
                   scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { grid: { display: false } } } },
      });
    },
  };
}
