// dom.js — the only way the pages make DOM nodes.
//
// Every text goes in through textContent (a text node), never through an
// HTML parser (no markup is ever built from strings): a report's
// description may hold "<script>" and must show as those characters. The
// server's CSP (script-src 'self'; style-src 'self') also forbids inline
// scripts, on*= handlers and style attributes, so h() refuses them too:
// events go through `on`, styles through CSS classes (or element.style).

const FORBIDDEN = /^(on|style$|srcdoc$)/i;

// h('tag.class#id', {attr: value, on: {click: fn}, dataset: {...}}, ...children)
// children: strings and numbers (made text nodes), nodes, arrays, null/false (skipped)
export function h (spec, attrs, ...children) {
  const m = /^([a-z0-9-]+)((?:[.#][\w-]+)*)$/i.exec(spec);
  if (!m) throw new Error(`h: bad element spec ${spec}`);
  const el = document.createElement(m[1]);
  for (const part of m[2].match(/[.#][\w-]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (attrs instanceof Node || typeof attrs !== 'object' || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'on') {
      for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (key === 'class') {
      for (const c of String(value).split(/\s+/).filter(Boolean)) el.classList.add(c);
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected'
               || key === 'required' || key === 'hidden') {
      el[key] = value;
      if (value === true && key !== 'value') el.setAttribute(key, '');
    } else if (FORBIDDEN.test(key)) {
      throw new Error(`h: attribute ${key} is not allowed (CSP; use on/class)`);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append (el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replace an element's children
export function fill (el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// Set an element's text (null-safe)
export function text (el, value) {
  if (el) el.textContent = value === null || value === undefined ? '' : String(value);
  return el;
}
