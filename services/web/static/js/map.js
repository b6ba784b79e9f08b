// map.js — pick a point: Leaflet (Debian's libjs-leaflet at /vendor/leaflet/)
// over the configured tile server, or, with no tiles configured, over a
// drawn coordinate grid, so the pick works offline. If Leaflet itself is not
// there, a plain canvas grid does the same job.
//
//   const map = await pointPicker(el, {center: [lat, lon], tiles: url|null, zoom,
//                                      attribution, onPick: (lat, lon) => ...});
//   map.set(lat, lon);  map.clear();

const DEFAULT_CENTER = [20.8449, 106.6881];      // Hải Phòng

export async function pointPicker (el, opts = {}) {
  const center = opts.center || DEFAULT_CENTER;
  let L = null;
  try {
    L = await import('/vendor/leaflet/leaflet.esm.js');
  } catch (e) {
    L = null;
  }
  return L ? leafletPicker(L, el, center, opts) : canvasPicker(el, center, opts);
}

function leafletPicker (L, el, center, opts) {
  const zoom = opts.zoom || (opts.tiles ? 14 : 13);
  const map = L.map(el, { center, zoom, keyboard: false, attributionControl: !!opts.tiles });
  el.setAttribute('tabindex', '-1');    // the lat/lon fields are the keyboard's way
  if (opts.tiles) {
    L.tileLayer(opts.tiles, { maxZoom: 19, attribution: opts.attribution || '' }).addTo(map);
  } else {
    const Grid = L.GridLayer.extend({
      createTile (coords) {
        const tile = document.createElement('canvas');
        const size = this.getTileSize();
        tile.width = size.x;
        tile.height = size.y;
        const ctx = tile.getContext('2d');
        ctx.fillStyle = '#eef3f1';
        ctx.fillRect(0, 0, size.x, size.y);
        ctx.strokeStyle = '#b9cbc4';
        ctx.lineWidth = 1;
        ctx.strokeRect(0.5, 0.5, size.x, size.y);
        ctx.strokeStyle = '#dbe6e1';
        ctx.beginPath();
        ctx.moveTo(size.x / 2, 0); ctx.lineTo(size.x / 2, size.y);
        ctx.moveTo(0, size.y / 2); ctx.lineTo(size.x, size.y / 2);
        ctx.stroke();
        const nw = map.unproject(coords.scaleBy(size), coords.z);
        ctx.fillStyle = '#557a6d';
        ctx.font = '11px sans-serif';
        ctx.fillText(`${nw.lat.toFixed(4)}, ${nw.lng.toFixed(4)}`, 4, 13);
        return tile;
      },
    });
    new Grid().addTo(map);
  }
  let marker = null;
  const api = {
    set (lat, lon, pan = true) {
      if (!Number.isFinite(lat) || !Number.isFinite(lon)) return;
      if (!marker) {
        marker = L.circleMarker([lat, lon], { radius: 9, color: '#b3261e', weight: 3, fillColor: '#ff6f61', fillOpacity: 0.7 }).addTo(map);
      } else marker.setLatLng([lat, lon]);
      if (pan) map.panTo([lat, lon]);
    },
    clear () { if (marker) { marker.remove(); marker = null; } },
    invalidate () { map.invalidateSize(); },
  };
  map.on('click', (ev) => {
    const lat = +ev.latlng.lat.toFixed(6);
    const lon = +L.Util.wrapNum(ev.latlng.lng, [-180, 180], true).toFixed(6);
    api.set(lat, lon, false);
    if (opts.onPick) opts.onPick(lat, lon);
  });
  return api;
}

// No Leaflet: a canvas showing a fixed 0.1° square around the centre, gridded
function canvasPicker (el, center, opts) {
  const span = 0.1;
  const canvas = document.createElement('canvas');
  canvas.className = 'grid-canvas';
  el.appendChild(canvas);
  let point = null;
  const bounds = () => ({ north: center[0] + span / 2, south: center[0] - span / 2,
                          west: center[1] - span / 2, east: center[1] + span / 2 });
  function draw () {
    const w = canvas.clientWidth || 300, hgt = canvas.clientHeight || 200;
    canvas.width = w; canvas.height = hgt;
    const ctx = canvas.getContext('2d');
    const b = bounds();
    ctx.fillStyle = '#eef3f1'; ctx.fillRect(0, 0, w, hgt);
    ctx.strokeStyle = '#c4d4ce'; ctx.fillStyle = '#557a6d'; ctx.font = '11px sans-serif';
    for (let i = 0; i <= 10; i++) {
      const x = (i / 10) * w, y = (i / 10) * hgt;
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, hgt); ctx.moveTo(0, y); ctx.lineTo(w, y); ctx.stroke();
      if (i % 2 === 0 && i < 10) {
        ctx.fillText((b.west + (i / 10) * span).toFixed(3), x + 3, hgt - 4);
        ctx.fillText((b.north - (i / 10) * span).toFixed(3), 3, y + 12);
      }
    }
    if (point) {
      const x = ((point[1] - b.west) / span) * w, y = ((b.north - point[0]) / span) * hgt;
      ctx.strokeStyle = '#b3261e'; ctx.lineWidth = 3;
      ctx.beginPath(); ctx.arc(x, y, 8, 0, 2 * Math.PI); ctx.stroke(); ctx.lineWidth = 1;
    }
  }
  canvas.addEventListener('click', (ev) => {
    const r = canvas.getBoundingClientRect(), b = bounds();
    const lat = +(b.north - ((ev.clientY - r.top) / r.height) * span).toFixed(6);
    const lon = +(b.west + ((ev.clientX - r.left) / r.width) * span).toFixed(6);
    point = [lat, lon]; draw();
    if (opts.onPick) opts.onPick(lat, lon);
  });
  new ResizeObserver(draw).observe(el);
  draw();
  return {
    set (lat, lon) { if (Number.isFinite(lat) && Number.isFinite(lon)) { point = [lat, lon]; draw(); } },
    clear () { point = null; draw(); },
    invalidate: draw,
  };
}
