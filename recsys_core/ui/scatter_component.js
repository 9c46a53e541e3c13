// The Embeddings map: a canvas scatter that stays responsive with a few hundred thousand points.
//
// data = {points: an Arrow table, meta: JSON} (built by recsys_core/ui/scatter_component.py):
//   points: x, y (float32), row (int32: the dataset row), c (uint8 / uint16: index into
//           meta.classes), n (int32: likes or interactions), label, detail (utf8).
//   meta:   see scatter_component.py's module docstring.
// Names, categories and tags are data: they reach the page only through textContent, the
// title attribute and canvas fillText, never as markup.

const SVG = 'http://www.w3.org/2000/svg';
const ICONS = {
  pan: 'M12 2l3 3h-2v4h4V7l3 3-3 3v-2h-4v4h2l-3 3-3-3h2v-4H7v2l-3-3 3-3v2h4V5H9z',
  box: 'M3 3h4v2H5v2H3zm6 0h6v2H9zm8 0h4v4h-2V5h-2zM3 9h2v6H3zm16 0h2v6h-2zM3 17h2v2h2v2H3zm16 '
    + '0h2v4h-4v-2h2zM9 19h6v2H9z',
  lasso: 'M12 3C6.5 3 2 6.1 2 10c0 2.3 1.6 4.3 4 5.6-.2.9-.8 2-2 2.9 0 0 3.3.2 5.4-2.2.8.2 1.7.2 '
    + '2.6.2 5.5 0 10-3.1 10-7S17.5 3 12 3zm0 12c-.8 0-1.6-.1-2.3-.2l-.7-.1-.5.5c-.4.4-.8.7-1.2.9'
    + '.1-.4.2-.9.2-1.3l.1-.8-.7-.4C4.9 12.6 4 11.3 4 10c0-2.7 3.6-5 8-5s8 2.3 8 5-3.6 5-8 5z',
  zoomIn: 'M11 4a7 7 0 015.6 11.2l4.1 4.1-1.4 1.4-4.1-4.1A7 7 0 1111 4zm0 2a5 5 0 100 10 5 5 0 '
    + '000-10zm-1 2h2v2h2v2h-2v2h-2v-2H8v-2h2z',
  zoomOut: 'M11 4a7 7 0 015.6 11.2l4.1 4.1-1.4 1.4-4.1-4.1A7 7 0 1111 4zm0 2a5 5 0 100 10 5 5 0 '
    + '000-10zM8 10h6v2H8z',
  reset: 'M12 5V2L7 6l5 4V7a5 5 0 11-5 5H5a7 7 0 107-7z',
  clear: 'M6.4 5L12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 '
    + '6.4z',
  png: 'M5 20h14v-2H5zm7-3l5-5h-3V4h-4v8H7z',
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.appendChild(path);
  return svg;
}

function column(table, name) {
  const vector = table && table.getChild ? table.getChild(name) : null;
  return vector || null;
}

function numbers(table, name, Type) {
  const vector = column(table, name);
  if (!vector) return new Type(0);
  const values = vector.toArray();
  return values instanceof Type ? values : Type.from(values);
}

function pointInPolygon(x, y, poly) {
  let inside = false;
  for (let i = 0, j = poly.length - 2; i < poly.length; j = i, i += 2) {
    const xi = poly[i], yi = poly[i + 1], xj = poly[j], yj = poly[j + 1];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function starPath(ctx, x, y, outer, inner) {
  ctx.beginPath();
  for (let i = 0; i < 10; i += 1) {
    const r = i % 2 ? inner : outer;
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    const px = x + r * Math.cos(a), py = y + r * Math.sin(a);
    if (i) ctx.lineTo(px, py); else ctx.moveTo(px, py);
  }
  ctx.closePath();
}

function diamondPath(ctx, x, y, r) {
  ctx.moveTo(x, y - r);
  ctx.lineTo(x + r, y);
  ctx.lineTo(x, y + r);
  ctx.lineTo(x - r, y);
  ctx.closePath();
}

const LEGEND_RIGHT_FROM = 760;  // px of width: the legend sits at the right, else below
const LEGEND_WIDTH = 270;
const DRAG_PX = 4;
const INSET = { top: 46, bottom: 30, side: 14 };  // px kept clear around the fitted map
const PIXELS_FROM = 15000;  // more points than this are drawn into the pixels directly
const BACKGROUND = 0xfffcfbfb;  // #fbfbfc, as a little-endian RGBA word

class Scatter {
  constructor(host) {
    this.host = host;
    this.view = null;  // {cx, cy, zoom} in data units; null: fit everything
    this.viewId = null;
    this.mode = 'pan';
    this.hidden = new Set();
    this.legendId = null;
    this.hover = -1;
    this.hoverTag = -1;
    this.drag = null;
    this.frame = 0;
    this.selectedMask = null;
    this.selectedTags = null;

    this.plot = el('div', 'rx-sc-plot');
    this.canvas = el('canvas', 'rx-sc-canvas');
    this.canvas.setAttribute('role', 'img');
    this.toolbar = el('div', 'rx-sc-toolbar');
    this.banner = el('div', 'rx-sc-banner');
    this.heading = el('div', 'rx-sc-heading');
    this.badge = el('div', 'rx-sc-badge');
    this.tip = el('div', 'rx-sc-tip');
    this.tip.setAttribute('role', 'tooltip');
    this.legend = el('div', 'rx-sc-legend');
    this.plot.append(this.canvas, this.heading, this.banner, this.badge, this.toolbar, this.tip);
    host.append(this.plot, this.legend);
    this.ctx = this.canvas.getContext('2d');
    this.listen();
    this.resizer = new ResizeObserver(() => this.layout());
    this.resizer.observe(host);
  }

  // ------------------------------------------------------------------------------ data
  update(data, setTrigger) {
    this.setTrigger = setTrigger;
    const meta = (data && data.meta) || {};
    const table = data && data.points;
    this.meta = meta;
    this.host.dataset.state = 'drawing';
    this.xs = numbers(table, 'x', Float32Array);
    this.ys = numbers(table, 'y', Float32Array);
    this.rows = numbers(table, 'row', Int32Array);
    this.counts = numbers(table, 'n', Int32Array);
    const codes = column(table, 'c');
    this.codes = codes ? codes.toArray() : new Uint8Array(this.xs.length);
    this.labels = column(table, 'label');
    this.details = column(table, 'detail');
    this.n = this.xs.length;
    this.classes = Array.isArray(meta.classes) ? meta.classes : [];
    const tags = meta.tags || {};
    this.tagX = tags.x || [];
    this.tagY = tags.y || [];
    this.tagNames = tags.names || [];
    this.interactive = meta.interactive !== false;
    if (!this.interactive && this.mode !== 'pan') this.mode = 'pan';
    this.sortByClass();
    this.bounds();
    this.buildGrid();
    if (meta.view_id !== this.viewId) {
      this.viewId = meta.view_id;
      this.view = null;
    }
    if (meta.legend_id !== this.legendId) {
      this.legendId = meta.legend_id;
      this.hidden = new Set();
    }
    this.selectedMask = null;
    const selection = Array.isArray(meta.selection) ? meta.selection : [];
    if (selection.length) {
      this.selectedMask = new Uint8Array(this.n);
      for (const p of selection) if (p >= 0 && p < this.n) this.selectedMask[p] = 1;
    }
    this.selectedTags = new Set(Array.isArray(meta.selected_tags) ? meta.selected_tags : []);
    this.hover = -1;
    this.hoverTag = -1;
    this.canvas.style.cursor = '';
    this.canvas.setAttribute('aria-label', meta.title || 'Map');
    this.banner.textContent = meta.banner || '';
    this.banner.hidden = !meta.banner;
    this.heading.textContent = meta.heading || '';
    this.heading.hidden = !meta.heading || Boolean(meta.banner);
    this.badge.textContent = meta.badge || '';
    this.badge.hidden = !meta.badge;
    this.host.classList.toggle('rx-sc-preview', !this.interactive);
    this.buildToolbar();
    this.buildLegend();
    this.layout();
  }

  sortByClass() {
    // point positions grouped by colour class (a counting sort), drawn class by class
    const k = Math.max(this.classes.length, 1);
    const starts = new Int32Array(k + 1);
    for (let i = 0; i < this.n; i += 1) starts[Math.min(this.codes[i], k - 1) + 1] += 1;
    for (let c = 0; c < k; c += 1) starts[c + 1] += starts[c];
    const fill = starts.slice(0, k);
    const order = new Int32Array(this.n);
    for (let i = 0; i < this.n; i += 1) order[fill[Math.min(this.codes[i], k - 1)]++] = i;
    this.order = order;
    this.starts = starts;
  }

  bounds() {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    const grow = (x, y) => {
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
    };
    for (let i = 0; i < this.n; i += 1) grow(this.xs[i], this.ys[i]);
    for (let i = 0; i < this.tagX.length; i += 1) grow(this.tagX[i], this.tagY[i]);
    if (!Number.isFinite(x0)) { x0 = -1; x1 = 1; y0 = -1; y1 = 1; }
    const padX = Math.max((x1 - x0) * 0.04, 1e-6), padY = Math.max((y1 - y0) * 0.04, 1e-6);
    this.box = { x0: x0 - padX, x1: x1 + padX, y0: y0 - padY, y1: y1 + padY };
  }

  buildGrid() {
    // a uniform grid over the data for hover and click: each cell lists its points
    const g = Math.max(1, Math.min(512, Math.ceil(Math.sqrt(this.n / 6))));
    const { x0, x1, y0, y1 } = this.box;
    const cw = (x1 - x0) / g, ch = (y1 - y0) / g;
    const cell = new Int32Array(this.n);
    const starts = new Int32Array(g * g + 1);
    for (let i = 0; i < this.n; i += 1) {
      const cx = Math.min(g - 1, Math.max(0, Math.floor((this.xs[i] - x0) / cw)));
      const cy = Math.min(g - 1, Math.max(0, Math.floor((this.ys[i] - y0) / ch)));
      cell[i] = cy * g + cx;
      starts[cell[i] + 1] += 1;
    }
    for (let c = 0; c < g * g; c += 1) starts[c + 1] += starts[c];
    const fill = starts.slice(0, g * g);
    const items = new Int32Array(this.n);
    for (let i = 0; i < this.n; i += 1) items[fill[cell[i]]++] = i;
    this.grid = { g, cw, ch, starts, items };
  }

  // ---------------------------------------------------------------------------- layout
  layout() {
    const width = this.host.clientWidth || this.host.parentElement?.clientWidth || 600;
    const height = Math.max(200, Number(this.meta?.height) || 600);
    const legendRight = this.meta?.legend !== false && width >= LEGEND_RIGHT_FROM
      && this.legend.childElementCount > 0;
    this.host.classList.toggle('rx-sc-legend-right', legendRight);
    const plotWidth = Math.max(200, legendRight ? width - LEGEND_WIDTH - 12 : width);
    this.plot.style.height = `${height}px`;
    this.legend.style.maxHeight = legendRight ? `${height}px` : '';
    const dpr = window.devicePixelRatio || 1;
    if (this.w !== plotWidth || this.h !== height || this.dpr !== dpr) {
      this.w = plotWidth;
      this.h = height;
      this.dpr = dpr;
      this.canvas.width = Math.round(plotWidth * dpr);
      this.canvas.height = Math.round(height * dpr);
      this.canvas.style.width = `${plotWidth}px`;
      this.canvas.style.height = `${height}px`;
    }
    this.render();
  }

  inner() {
    // the part of the canvas the whole map is fitted into: clear of the toolbar and the badge
    const top = Math.min(INSET.top, this.h / 6), bottom = Math.min(INSET.bottom, this.h / 8);
    const w = Math.max(10, this.w - 2 * INSET.side), h = Math.max(10, this.h - top - bottom);
    return { w, h, cx: INSET.side + w / 2, cy: top + h / 2 };
  }

  fitScale() {
    const { x0, x1, y0, y1 } = this.box;
    const inner = this.inner();
    return Math.min(inner.w / (x1 - x0), inner.h / (y1 - y0));
  }

  transform() {
    const view = this.view || {
      cx: (this.box.x0 + this.box.x1) / 2, cy: (this.box.y0 + this.box.y1) / 2, zoom: 1,
    };
    const k = this.fitScale() * view.zoom;
    const inner = this.inner();
    return { k, tx: inner.cx - view.cx * k, ty: inner.cy + view.cy * k, view };
  }

  toData(px, py) {
    const { k, tx, ty } = this.transform();
    return [(px - tx) / k, (ty - py) / k];
  }

  zoomAt(px, py, factor) {
    const { view } = this.transform();
    const [dx, dy] = this.toData(px, py);
    const zoom = Math.min(2000, Math.max(0.2, view.zoom * factor));
    const k = this.fitScale() * zoom;
    const inner = this.inner();
    this.view = { zoom, cx: dx - (px - inner.cx) / k, cy: dy + (py - inner.cy) / k };
    this.render();
  }

  radius() {
    const n = this.n;
    const base = n <= 3000 ? 3.6 : n <= 10000 ? 2.8 : n <= 40000 ? 2 : 1.5;
    const zoom = this.view ? this.view.zoom : 1;
    return base * Math.min(3, Math.max(1, Math.sqrt(zoom)));
  }

  // ------------------------------------------------------------------------------ draw
  render() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
      this.host.dataset.state = 'drawn';
      this.host.dataset.points = String(this.n);
    });
  }

  visible(p) {
    const cls = this.classes[this.codes[p]];
    return !(cls && this.hidden.has(cls.name));
  }

  draw() {
    const ctx = this.ctx;
    if (!ctx || !this.w) return;
    const { k, tx, ty } = this.transform();
    const r = this.radius();
    const dense = this.n > PIXELS_FROM && this.inView(k, tx, ty, r) > PIXELS_FROM;
    const passes = this.selectedMask ? [[0.1, null], [0.95, this.selectedMask]]
      : [[dense ? 0.7 : 0.82, null]];
    if (dense) {
      this.drawPixels(k, tx, ty, r, passes);
    } else {
      ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      ctx.clearRect(0, 0, this.w, this.h);
      this.drawCircles(ctx, k, tx, ty, r, passes);
    }
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.globalAlpha = 1;
    this.drawOverlays(ctx, k, tx, ty, r);
    this.drawDrag(ctx);
  }

  inView(k, tx, ty, r) {
    // how many points the view shows (zoomed in, few enough to draw as circles)
    let count = 0;
    const x0 = (-r - tx) / k, x1 = (this.w + r - tx) / k;
    const y0 = (ty - this.h - r) / k, y1 = (ty + r) / k;
    for (let p = 0; p < this.n; p += 1) {
      const x = this.xs[p], y = this.ys[p];
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) count += 1;
    }
    return count;
  }

  drawPixels(k, tx, ty, r, passes) {
    // many points: squares blended straight into the pixels (a canvas call per point is the
    // slow part at 100k+), over the plot's background colour
    const W = this.canvas.width, H = this.canvas.height, dpr = this.dpr;
    if (!this.image || this.image.width !== W || this.image.height !== H) {
      this.image = this.ctx.createImageData(W, H);
      this.pixels = new Uint32Array(this.image.data.buffer);
    }
    const pixels = this.pixels;
    pixels.fill(BACKGROUND);
    const side = Math.max(2, Math.round(2 * r * dpr));
    const half = side / 2;
    const kd = k * dpr, txd = tx * dpr, tyd = ty * dpr;
    const xs = this.xs, ys = this.ys, order = this.order;
    for (const [alpha, mask] of passes) {
      const keep = 1 - alpha;
      for (let c = 0; c < this.classes.length; c += 1) {
        const cls = this.classes[c];
        if (!cls || this.hidden.has(cls.name)) continue;
        const from = this.starts[c], to = this.starts[c + 1];
        if (from === to) continue;
        const hex = parseInt(String(cls.colour || '#888888').slice(1), 16) || 0x888888;
        const sr = ((hex >> 16) & 255) * alpha, sg = ((hex >> 8) & 255) * alpha;
        const sb = (hex & 255) * alpha;
        for (let o = from; o < to; o += 1) {
          const p = order[o];
          if (mask && !mask[p]) continue;
          const x0 = Math.round(xs[p] * kd + txd - half), y0 = Math.round(tyd - ys[p] * kd - half);
          if (x0 >= W || y0 >= H || x0 + side <= 0 || y0 + side <= 0) continue;
          const xa = Math.max(0, x0), xb = Math.min(W, x0 + side);
          const ya = Math.max(0, y0), yb = Math.min(H, y0 + side);
          for (let y = ya; y < yb; y += 1) {
            let at = y * W + xa;
            for (let x = xa; x < xb; x += 1, at += 1) {
              const d = pixels[at];
              pixels[at] = 0xff000000
                | (((((d >> 16) & 255) * keep + sb) & 255) << 16)
                | (((((d >> 8) & 255) * keep + sg) & 255) << 8)
                | (((d & 255) * keep + sr) & 255);
            }
          }
        }
      }
    }
    this.ctx.putImageData(this.image, 0, 0);
  }

  drawCircles(ctx, k, tx, ty, r, passes) {
    // up to PIXELS_FROM points: one path of circles per class
    const w = this.w, h = this.h, xs = this.xs, ys = this.ys, order = this.order;
    for (const [alpha, mask] of passes) {
      ctx.globalAlpha = alpha;
      for (let c = 0; c < this.classes.length; c += 1) {
        const cls = this.classes[c];
        if (!cls || this.hidden.has(cls.name)) continue;
        const from = this.starts[c], to = this.starts[c + 1];
        if (from === to) continue;
        ctx.fillStyle = cls.colour || '#888';
        ctx.beginPath();
        for (let o = from; o < to; o += 1) {
          const p = order[o];
          if (mask && !mask[p]) continue;
          const sx = xs[p] * k + tx, sy = ty - ys[p] * k;
          if (sx < -r || sy < -r || sx > w + r || sy > h + r) continue;
          ctx.moveTo(sx + r, sy);
          ctx.arc(sx, sy, r, 0, 2 * Math.PI);
        }
        ctx.fill();
      }
    }
  }

  drawOverlays(ctx, k, tx, ty, r) {
    const meta = this.meta;
    const at = (x, y) => [x * k + tx, ty - y * k];
    const lines = (from, targets, colour) => {
      if (!from || !targets || !targets.length) return;
      const [ox, oy] = at(from.x, from.y);
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.globalAlpha = 0.85;
      ctx.beginPath();
      for (const t of targets) {
        const [sx, sy] = at(t.x, t.y);
        ctx.moveTo(ox, oy);
        ctx.lineTo(sx, sy);
      }
      ctx.stroke();
      ctx.globalAlpha = 1;
    };
    const rings = (targets, fill, stroke, size) => {
      for (const t of targets || []) {
        const [sx, sy] = at(t.x, t.y);
        ctx.beginPath();
        ctx.arc(sx, sy, size, 0, 2 * Math.PI);
        ctx.fillStyle = fill;
        ctx.fill();
        ctx.lineWidth = 1.5;
        ctx.strokeStyle = stroke;
        ctx.stroke();
      }
    };
    const colours = meta.colours || {};
    // tags (lightfm): diamonds with their names
    if (this.tagX.length) {
      ctx.font = '10px "Source Sans Pro", "Source Sans 3", sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'bottom';
      for (let t = 0; t < this.tagX.length; t += 1) {
        const [sx, sy] = at(this.tagX[t], this.tagY[t]);
        if (sx < -50 || sy < -20 || sx > this.w + 50 || sy > this.h + 20) continue;
        const chosen = this.selectedTags.has(t) || t === this.hoverTag;
        ctx.beginPath();
        diamondPath(ctx, sx, sy, chosen ? 7 : 5);
        ctx.fillStyle = colours.tag || '#2b2d42';
        ctx.globalAlpha = 0.9;
        ctx.fill();
        ctx.globalAlpha = 1;
        const name = String(this.tagNames[t] ?? '');
        ctx.lineWidth = 3;
        ctx.strokeStyle = 'rgba(251, 251, 252, 0.9)';  // a halo: labels stay readable
        ctx.strokeText(name, sx, sy - 7);
        ctx.fillStyle = colours.tag || '#2b2d42';
        ctx.fillText(name, sx, sy - 7);
      }
    }
    const near = meta.near;
    if (near) {
      lines(near, meta.near_items, colours.tag || '#2b2d42');
      rings(meta.near_items, '#ffffff', colours.tag || '#2b2d42', 6);
    }
    const selected = meta.highlight;
    lines(selected, meta.neighbours, colours.neighbour || '#f2a541');
    rings(meta.neighbours, colours.neighbour || '#f2a541', '#222222', 6.5);
    if (selected) {
      const [sx, sy] = at(selected.x, selected.y);
      starPath(ctx, sx, sy, 12, 5);
      ctx.fillStyle = colours.highlight || '#e4572e';
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = '#222222';
      ctx.stroke();
    }
    if (this.hover >= 0) {
      const [sx, sy] = at(this.xs[this.hover], this.ys[this.hover]);
      ctx.beginPath();
      ctx.arc(sx, sy, Math.max(r + 3, 5), 0, 2 * Math.PI);
      ctx.lineWidth = 2;
      ctx.strokeStyle = '#111111';
      ctx.stroke();
    }
  }

  drawDrag(ctx) {
    const drag = this.drag;
    if (!drag || !drag.moved || drag.kind === 'pan') return;
    ctx.save();
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 1;
    ctx.strokeStyle = '#31333f';
    ctx.fillStyle = 'rgba(49, 51, 63, 0.08)';
    ctx.beginPath();
    if (drag.kind === 'box') {
      const x = Math.min(drag.x0, drag.x1), y = Math.min(drag.y0, drag.y1);
      ctx.rect(x, y, Math.abs(drag.x1 - drag.x0), Math.abs(drag.y1 - drag.y0));
    } else {
      const path = drag.path;
      ctx.moveTo(path[0], path[1]);
      for (let i = 2; i < path.length; i += 2) ctx.lineTo(path[i], path[i + 1]);
      ctx.closePath();
    }
    ctx.fill();
    ctx.stroke();
    ctx.restore();
  }

  // --------------------------------------------------------------------- hit testing
  pointAt(px, py) {
    if (!this.n) return -1;
    const { k, tx, ty } = this.transform();
    const reach = Math.max(this.radius() + 3, 6);
    const [x, y] = [(px - tx) / k, (ty - py) / k];
    const d = reach / k;
    const { g, cw, ch, starts, items } = this.grid;
    const { x0, y0 } = this.box;
    const cx0 = Math.max(0, Math.floor((x - d - x0) / cw));
    const cx1 = Math.min(g - 1, Math.floor((x + d - x0) / cw));
    const cy0 = Math.max(0, Math.floor((y - d - y0) / ch));
    const cy1 = Math.min(g - 1, Math.floor((y + d - y0) / ch));
    let best = -1, bestD = reach * reach;
    for (let cy = cy0; cy <= cy1; cy += 1) {
      for (let cx = cx0; cx <= cx1; cx += 1) {
        const c = cy * g + cx;
        for (let o = starts[c]; o < starts[c + 1]; o += 1) {
          const p = items[o];
          const sx = this.xs[p] * k + tx - px, sy = ty - this.ys[p] * k - py;
          const dd = sx * sx + sy * sy;
          if (dd <= bestD && this.visible(p)) { best = p; bestD = dd; }
        }
      }
    }
    return best;
  }

  tagAt(px, py) {
    const { k, tx, ty } = this.transform();
    for (let t = this.tagX.length - 1; t >= 0; t -= 1) {
      const sx = this.tagX[t] * k + tx, sy = ty - this.tagY[t] * k;
      if (Math.abs(sx - px) + Math.abs(sy - py) <= 8) return t;
    }
    return -1;
  }

  inside(test) {
    const { k, tx, ty } = this.transform();
    const rows = [];
    for (let p = 0; p < this.n; p += 1) {
      if (!this.visible(p)) continue;
      if (test(this.xs[p] * k + tx, ty - this.ys[p] * k)) rows.push(p);
    }
    const tags = [];
    for (let t = 0; t < this.tagX.length; t += 1) {
      if (test(this.tagX[t] * k + tx, ty - this.tagY[t] * k)) tags.push(t);
    }
    return { positions: rows, tags };
  }

  // ------------------------------------------------------------------------- tooltip
  showTip(px, py) {
    const tip = this.tip;
    tip.replaceChildren();
    if (this.hoverTag >= 0) {
      tip.append(el('div', 'rx-sc-tip-title', `Tag: ${this.tagNames[this.hoverTag] ?? ''}`));
    } else if (this.hover >= 0) {
      const p = this.hover;
      const prefix = this.meta.label_prefix || '';
      const label = this.labels ? this.labels.get(p) : '';
      tip.append(el('div', 'rx-sc-tip-title', `${prefix}${label ?? ''}`));
      const detail = this.details ? this.details.get(p) : '';
      if (detail) tip.append(el('div', 'rx-sc-tip-line', detail));
      const count = this.counts[p];
      const noun = count === 1 ? this.meta.count_one || '' : this.meta.count_many || '';
      tip.append(el('div', 'rx-sc-tip-line', `${Number(count).toLocaleString('en-US')} ${noun}`));
      if (this.interactive && this.meta.click_hint) {
        tip.append(el('div', 'rx-sc-tip-hint', this.meta.click_hint));
      }
    } else {
      tip.hidden = true;
      return;
    }
    tip.hidden = false;
    const box = tip.getBoundingClientRect();
    const left = px + 14 + box.width > this.w ? px - 14 - box.width : px + 14;
    const top = Math.min(Math.max(4, py - box.height / 2), this.h - box.height - 4);
    tip.style.left = `${Math.max(4, left)}px`;
    tip.style.top = `${Math.max(4, top)}px`;
  }

  // -------------------------------------------------------------------------- events
  local(event) {
    const rect = this.canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  listen() {
    const canvas = this.canvas;
    canvas.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      const [x, y] = this.local(event);
      canvas.setPointerCapture(event.pointerId);
      const kind = event.shiftKey && this.interactive ? 'box' : this.mode;
      const view = this.transform().view;
      this.drag = { kind, x0: x, y0: y, x1: x, y1: y, moved: false, path: [x, y], view };
      this.tip.hidden = true;
    });
    canvas.addEventListener('pointermove', (event) => {
      const [x, y] = this.local(event);
      const drag = this.drag;
      if (drag) {
        if (Math.abs(x - drag.x0) + Math.abs(y - drag.y0) > DRAG_PX) drag.moved = true;
        drag.x1 = x;
        drag.y1 = y;
        if (drag.kind === 'pan' && drag.moved) {
          const k = this.fitScale() * drag.view.zoom;
          this.view = {
            zoom: drag.view.zoom,
            cx: drag.view.cx - (x - drag.x0) / k,
            cy: drag.view.cy + (y - drag.y0) / k,
          };
        }
        if (drag.kind === 'lasso') drag.path.push(x, y);
        this.render();
        return;
      }
      const tag = this.tagAt(x, y);
      const point = tag >= 0 ? -1 : this.pointAt(x, y);
      if (tag !== this.hoverTag || point !== this.hover) {
        this.hoverTag = tag;
        this.hover = point;
        this.render();
      }
      canvas.style.cursor = point >= 0 || tag >= 0 ? (this.interactive ? 'pointer' : 'crosshair')
        : this.mode === 'pan' ? 'grab' : 'crosshair';
      this.showTip(x, y);
    });
    canvas.addEventListener('pointerleave', () => {
      if (this.drag) return;
      this.hover = -1;
      this.hoverTag = -1;
      this.tip.hidden = true;
      this.render();
    });
    const finish = (event, cancelled) => {
      const drag = this.drag;
      if (!drag) return;
      this.drag = null;
      if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
      if (cancelled) { this.render(); return; }
      const [x, y] = this.local(event);
      if (!drag.moved) {
        this.click(x, y);
      } else if (drag.kind === 'box') {
        const xa = Math.min(drag.x0, x), xb = Math.max(drag.x0, x);
        const ya = Math.min(drag.y0, y), yb = Math.max(drag.y0, y);
        this.select(this.inside((sx, sy) => sx >= xa && sx <= xb && sy >= ya && sy <= yb));
      } else if (drag.kind === 'lasso' && drag.path.length >= 6) {
        const poly = drag.path;
        let xa = Infinity, xb = -Infinity, ya = Infinity, yb = -Infinity;
        for (let i = 0; i < poly.length; i += 2) {
          xa = Math.min(xa, poly[i]); xb = Math.max(xb, poly[i]);
          ya = Math.min(ya, poly[i + 1]); yb = Math.max(yb, poly[i + 1]);
        }
        this.select(this.inside((sx, sy) => sx >= xa && sx <= xb && sy >= ya && sy <= yb
          && pointInPolygon(sx, sy, poly)));
      }
      this.render();
    };
    canvas.addEventListener('pointerup', (event) => finish(event, false));
    canvas.addEventListener('pointercancel', (event) => finish(event, true));
    canvas.addEventListener('wheel', (event) => {
      event.preventDefault();
      const [x, y] = this.local(event);
      const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
      this.zoomAt(x, y, Math.exp(-Math.max(-300, Math.min(300, delta)) * 0.002));
    }, { passive: false });
    canvas.addEventListener('dblclick', (event) => {
      const [x, y] = this.local(event);
      if (this.pointAt(x, y) < 0 && this.tagAt(x, y) < 0) this.resetView();
    });
    this.host.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.drag) {
        this.drag = null;
        this.render();
      }
    });
  }

  click(x, y) {
    if (!this.interactive || !this.setTrigger) return;
    const tag = this.tagAt(x, y);
    if (tag >= 0) {
      this.setTrigger('clicked', { tag });
      return;
    }
    const p = this.pointAt(x, y);
    if (p < 0) return;
    this.canvas.style.cursor = 'progress';
    this.setTrigger('clicked', { row: this.rows[p] });
  }

  select({ positions, tags }) {
    if (!this.interactive || !this.setTrigger) return;
    this.selectedMask = null;
    if (positions.length) {
      this.selectedMask = new Uint8Array(this.n);
      for (const p of positions) this.selectedMask[p] = 1;
    }
    this.selectedTags = new Set(tags);
    const rows = positions.map((p) => this.rows[p]);
    this.buildToolbar();
    this.setTrigger('selected', { rows, tags });
  }

  clearSelection() {
    this.selectedMask = null;
    this.selectedTags = new Set();
    this.buildToolbar();
    this.render();
    if (this.interactive && this.setTrigger) this.setTrigger('selected', { rows: [], tags: [] });
  }

  resetView() {
    this.view = null;
    this.render();
  }

  // ------------------------------------------------------------------- toolbar, legend
  buildToolbar() {
    const bar = this.toolbar;
    bar.replaceChildren();
    const button = (name, title, action, active) => {
      const b = el('button', 'rx-sc-tool');
      b.type = 'button';
      b.title = title;
      b.setAttribute('aria-label', title);
      b.dataset.tool = name;
      if (active) b.classList.add('rx-sc-active');
      b.append(icon(name));
      b.addEventListener('click', (event) => {
        event.stopPropagation();
        action();
      });
      bar.append(b);
      return b;
    };
    const setMode = (mode) => {
      this.mode = mode;
      this.buildToolbar();
    };
    button('pan', 'Pan (drag the map)', () => setMode('pan'), this.mode === 'pan');
    if (this.interactive) {
      button('box', 'Box select (or shift-drag)', () => setMode('box'), this.mode === 'box');
      button('lasso', 'Lasso select', () => setMode('lasso'), this.mode === 'lasso');
    }
    bar.append(el('span', 'rx-sc-sep'));
    const middle = () => this.inner();
    button('zoomIn', 'Zoom in (or the mouse wheel)',
      () => this.zoomAt(middle().cx, middle().cy, 1.5));
    button('zoomOut', 'Zoom out', () => this.zoomAt(middle().cx, middle().cy, 1 / 1.5));
    button('reset', 'Show everything (or double-click)', () => this.resetView());
    button('png', 'Save the map as a PNG image', () => this.savePng());
    if (this.selectedMask || (this.selectedTags && this.selectedTags.size)) {
      bar.append(el('span', 'rx-sc-sep'));
      button('clear', 'Clear the selection', () => this.clearSelection());
    }
  }

  savePng() {
    this.canvas.toBlob((blob) => {
      if (!blob) return;
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `${this.meta.file_stem || 'map'}.png`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    });
  }

  buildLegend() {
    const legend = this.legend;
    legend.replaceChildren();
    const meta = this.meta;
    if (meta.legend === false) return;
    if (meta.legend_title) legend.append(el('div', 'rx-sc-legend-title', meta.legend_title));
    if (meta.scale) {
      const scale = meta.scale;
      const bar = el('div', 'rx-sc-scale');
      const stops = (scale.colours || []).map((c, i, all) => `${c} ${(100 * i) / Math.max(1, all.length - 1)}%`);
      bar.style.background = `linear-gradient(to right, ${stops.join(', ')})`;
      const ticks = el('div', 'rx-sc-ticks');
      for (const tick of scale.ticks || []) {
        const t = el('span', 'rx-sc-tick', tick.label);
        t.style.left = `${100 * Math.min(1, Math.max(0, Number(tick.at) || 0))}%`;
        ticks.append(t);
      }
      const wrap = el('div', 'rx-sc-scale-wrap');
      wrap.append(bar, ticks);
      legend.append(wrap);
    } else {
      const list = el('div', 'rx-sc-entries');
      this.classes.forEach((cls, index) => {
        if (!cls || !cls.name) return;
        const entry = el('button', 'rx-sc-entry');
        entry.type = 'button';
        entry.dataset.index = String(index);
        const off = this.hidden.has(cls.name);
        entry.classList.toggle('rx-sc-off', off);
        entry.setAttribute('aria-pressed', off ? 'false' : 'true');
        entry.title = 'Click to hide or show; double-click to show only this';
        const swatch = el('span', 'rx-sc-swatch');
        swatch.style.background = cls.colour || '#888';
        entry.append(swatch, el('span', 'rx-sc-name', cls.name));
        if (cls.count !== undefined) {
          entry.append(el('span', 'rx-sc-count', Number(cls.count).toLocaleString('en-US')));
        }
        entry.addEventListener('click', () => this.toggle(cls.name));
        entry.addEventListener('dblclick', () => this.isolate(cls.name));
        list.append(entry);
      });
      legend.append(list);
    }
    const keys = Array.isArray(meta.keys) ? meta.keys : [];
    if (keys.length) {
      const box = el('div', 'rx-sc-keys');
      for (const key of keys) {
        const row = el('div', 'rx-sc-key');
        const mark = el('span', `rx-sc-mark rx-sc-mark-${key.shape || 'dot'}`);
        mark.style.setProperty('--rx-mark', key.colour || '#888');
        row.append(mark, el('span', 'rx-sc-name', key.label));
        box.append(row);
      }
      legend.append(box);
    }
  }

  toggle(name) {
    if (this.hidden.has(name)) this.hidden.delete(name); else this.hidden.add(name);
    this.afterLegend();
  }

  isolate(name) {
    const names = this.classes.map((c) => c.name);
    const alone = names.every((other) => (other === name) !== this.hidden.has(other));
    this.hidden = alone ? new Set() : new Set(names.filter((other) => other !== name));
    this.afterLegend();
  }

  afterLegend() {
    for (const entry of this.legend.querySelectorAll('.rx-sc-entry')) {
      const cls = this.classes[Number(entry.dataset.index)];
      const off = Boolean(cls && this.hidden.has(cls.name));
      entry.classList.toggle('rx-sc-off', off);
      entry.setAttribute('aria-pressed', off ? 'false' : 'true');
    }
    this.host.dataset.hidden = String(this.hidden.size);
    this.render();
  }

  // ------------------------------------------------------------- for tests and tools
  screenOf(position) {
    // client coordinates of a point (browser tests find a point to hover or click)
    return this.screenOfData(this.xs[position], this.ys[position]);
  }

  screenOfData(x, y) {
    const { k, tx, ty } = this.transform();
    const rect = this.canvas.getBoundingClientRect();
    return { x: rect.left + x * k + tx, y: rect.top + ty - y * k };
  }

  rowAt(clientX, clientY) {
    // the dataset row a click at these client coordinates would select (-1: none)
    const rect = this.canvas.getBoundingClientRect();
    const p = this.pointAt(clientX - rect.left, clientY - rect.top);
    return p < 0 ? -1 : this.rows[p];
  }

  shown() {
    let count = 0;
    for (let p = 0; p < this.n; p += 1) if (this.visible(p)) count += 1;
    return count;
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let host = parentElement.querySelector(':scope > div.rx-scatter');
  if (!host) {
    host = document.createElement('div');
    host.className = 'rx-scatter';
    host.tabIndex = -1;
    parentElement.appendChild(host);
    host.rxScatter = new Scatter(host);
  }
  host.rxScatter.update(data, setTriggerValue);
}
