// dashboard-map.js — where the cases are: Leaflet (Debian's libjs-leaflet at
// /vendor/leaflet/) over the configured tiles (/api/v1/me's map), or, with
// none, a plain background drawn in coordinates. Each case with coordinates
// is a dot coloured by its state (a colour per state of the procedure, in
// its order: no state name is written here), an overdue one larger, red-
// ringed, drawn on top. With many dots in view they gather by a simple grid
// of the screen (a cell of CELL px): one disc per cell with its count,
// red-ringed if any of them is overdue. Clicking a dot opens the case.
//
//   const map = await casesMap(el, legendEl, me.map, procedure);
//   map.set(rows);  map.event(streamEvent);

import { h, fill } from './dom.js';
import { stateLabel } from './i18n.js';
import { dt, num, stateText } from './dashboard-i18n.js';

const CELL = 56;            // px: the grid the markers gather by
const GATHER_OVER = 100;    // markers in view above which they gather
const PALETTE = ['#1d6fb8', '#0f8b8d', '#d98c00', '#7b3fb3', '#c2185b', '#5d8a00', '#8d6e63',
                 '#00838f', '#6a1b9a', '#ef6c00', '#2e7d32', '#546e7a', '#9e9d24', '#4527a0', '#78909c'];

export async function casesMap (el, legendEl, config, proc) {
  let L = null;
  try { L = await import('/vendor/leaflet/leaflet.esm.js'); } catch (e) { L = null; }
  const states = (proc && Array.isArray(proc.states)) ? proc.states : [];
  const colour = (name) => {
    const i = states.findIndex((s) => s.name === name);
    return i < 0 ? '#607d8b' : PALETTE[i % PALETTE.length];
  };
  const cases = new Map();        // case_id -> {id, ward, state, type, urgent, overdue, lat, lon}
  if (!L) {
    fill(el, h('p.muted.pad', 'Leaflet (libjs-leaflet) is not installed.'));
    return { set () {}, event () {}, invalidate () {} };
  }
  const center = (config && Array.isArray(config.center)) ? config.center : [20.86, 106.68];
  const map = L.map(el, { center, zoom: Math.min((config && config.zoom) || 12, 13), preferCanvas: true,
                          attributionControl: !!(config && config.tiles) });
  if (config && config.tiles) {
    L.tileLayer(config.tiles, { maxZoom: 19, attribution: config.attribution || '' }).addTo(map);
  } else {
    const Plain = L.GridLayer.extend({
      createTile (coords) {
        const tile = document.createElement('canvas');
        const size = this.getTileSize();
        tile.width = size.x; tile.height = size.y;
        const ctx = tile.getContext('2d');
        ctx.fillStyle = '#f1f5f3'; ctx.fillRect(0, 0, size.x, size.y);
        ctx.strokeStyle = '#d3ded9'; ctx.lineWidth = 1; ctx.strokeRect(0.5, 0.5, size.x, size.y);
        const nw = map.unproject(coords.scaleBy(size), coords.z);
        ctx.fillStyle = '#8aa39a'; ctx.font = '10px sans-serif';
        ctx.fillText(`${nw.lat.toFixed(3)}, ${nw.lng.toFixed(3)}`, 4, 12);
        return tile;
      },
    });
    new Plain().addTo(map);
    el.classList.add('no-tiles');
  }
  const layer = L.layerGroup().addTo(map);
  let fitted = false;

  function dot (c) {
    const m = L.circleMarker([c.lat, c.lon], {
      radius: c.overdue ? 8 : 6, weight: c.overdue ? 3 : 1, color: c.overdue ? '#b3261e' : '#ffffff',
      fillColor: colour(c.state), fillOpacity: 0.9, className: c.overdue ? 'dot overdue' : 'dot',
    });
    m.bindTooltip(`${c.id} · ${stateText(c.state)}${c.overdue ? ` · ${dt('legend_overdue')}` : ''}`);
    m.on('click', () => location.assign(`/case.html?id=${encodeURIComponent(c.id)}`));
    return m;
  }

  function gathered (group) {
    const late = group.filter((c) => c.overdue).length;
    const n = group.length;
    const count = (x) => (x > 999 ? '999+' : String(x));
    // the count, and how many of them are overdue on a red tab
    const icon = L.divIcon({ className: `cluster${late ? ' late' : ''}`, iconSize: [34, 34],
                             html: h('span.count', count(n), late ? h('span.late-count', count(late)) : null) });
    const lat = group.reduce((s, c) => s + c.lat, 0) / n;
    const lon = group.reduce((s, c) => s + c.lon, 0) / n;
    const m = L.marker([lat, lon], { icon, keyboard: false,
                                     title: dt('cluster', { n }) + (late ? ` · ${dt('legend_overdue')}: ${late}` : '') });
    m.on('click', () => map.setView([lat, lon], Math.min(map.getZoom() + 2, 18)));
    return m;
  }

  function draw () {
    layer.clearLayers();
    const bounds = map.getBounds().pad(0.2);
    const inView = [...cases.values()].filter((c) => bounds.contains([c.lat, c.lon]));
    // overdue last, so on top
    inView.sort((a, b) => (a.overdue === b.overdue ? 0 : a.overdue ? 1 : -1));
    if (inView.length <= GATHER_OVER) {
      for (const c of inView) layer.addLayer(dot(c));
    } else {
      const cells = new Map();
      for (const c of inView) {
        const p = map.latLngToLayerPoint([c.lat, c.lon]);
        const key = `${Math.floor(p.x / CELL)}:${Math.floor(p.y / CELL)}`;
        if (!cells.has(key)) cells.set(key, []);
        cells.get(key).push(c);
      }
      for (const group of cells.values()) layer.addLayer(group.length === 1 ? dot(group[0]) : gathered(group));
    }
    el.dataset.cases = String(cases.size);          // for tests: what is on the map
    el.dataset.drawn = String(inView.length);
    legend();
  }

  function legend () {
    if (!legendEl) return;
    const present = new Set([...cases.values()].map((c) => c.state));
    fill(legendEl,
      states.filter((s) => present.has(s.name)).map((s) =>
        h('span.key', h('span.swatch', { dataset: { colour: colour(s.name) } }), stateLabel(s.name, s.label))),
      h('span.key', h('span.swatch.overdue'), dt('legend_overdue')),
      h('span.muted', dt('map_count', { n: num(cases.size) })));
    // the swatches' colours: set through the CSSOM, which the CSP allows
    for (const sw of legendEl.querySelectorAll('.swatch[data-colour]')) sw.style.background = sw.dataset.colour;
  }

  let pending = null;
  function redraw () {
    if (pending) return;
    pending = requestAnimationFrame(() => { pending = null; draw(); });
  }
  map.on('zoomend moveend', redraw);

  return {
    set (answer) {
      cases.clear();
      const fields = answer.fields || [];
      const at = (name) => fields.indexOf(name);
      for (const r of answer.cases || []) {
        cases.set(r[at('case_id')], { id: r[at('case_id')], ward: r[at('ward')], state: r[at('state')],
          type: r[at('type')], urgent: !!r[at('urgent')], overdue: !!r[at('overdue')],
          lat: r[at('lat')], lon: r[at('lon')] });
      }
      if (!fitted && cases.size) {
        const pts = [...cases.values()].map((c) => [c.lat, c.lon]);
        map.fitBounds(pts, { maxZoom: 15, padding: [20, 20] });
        fitted = true;
      }
      redraw();
    },
    // A live event: a new case with coordinates appears; a known one changes colour
    event (e) {
      if (!e.case_id) return;
      const known = cases.get(e.case_id);
      if (known) {
        if (e.to_state) known.state = e.to_state;
        if (/breach/.test(e.action || '')) known.overdue = true;
        redraw();
      } else if (typeof e.lat === 'number' && typeof e.lon === 'number') {
        cases.set(e.case_id, { id: e.case_id, ward: e.ward, state: e.to_state, type: e.type,
                               urgent: !!e.urgent, overdue: false, lat: e.lat, lon: e.lon });
        redraw();
      }
    },
    invalidate () { map.invalidateSize(); },
  };
}
