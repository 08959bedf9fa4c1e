// What the transcript page holds: the server's payload, the codes, the excerpts with their
// codings, the filters, and the little shared view state (which excerpt is open, the version
// painted). Every other module of the transcript view reads it from here; only the functions
// below and the `view` object change it.

import { Spans, TextIndex } from "../offsets.js";

export const $ = (id) => document.getElementById(id);
export const data = JSON.parse($("ws-data").textContent);
export const S = JSON.parse($("ws-strings").textContent);
export const docEl = $("ws-doc");
export const codeList = $("ws-codes");
export const idx = new TextIndex(docEl);
export const sentences = new Spans(data.sentences);
export const turns = new Spans(data.turns);
export const canWrite = Boolean(data.canWrite);
export const useApi =
  typeof CSS !== "undefined" &&
  CSS.highlights !== undefined &&
  typeof Highlight !== "undefined" &&
  new URLSearchParams(location.search).get("highlight") !== "dom";

export const fmt = (s, params) => s.replace(/%\((\w+)\)s/g, (_m, k) => String(params[k] ?? ""));
export const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
/** A code name folded for "find a code" (accents, case, æ → ae, ø → o). */
export const fold = (s) =>
  s
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/æ/g, "ae")
    .replace(/ø/g, "o");
/** An endpoint for one object: the payload's URL with the placeholder id swapped. */
export const url = (name, id) => data.urls[name].replace(data.placeholder, String(id));

/** Shared view state: the excerpt open in the inspector, and the version of the codings
 * (bumped on every change; painted sections remember the version they show). */
export const view = { activeExcerpt: null, version: 0, lastSelected: null };

export const codes = new Map(); // id -> {id, name, color, shortcut, depth, parent, order}
export const codeOrder = []; // ids in codebook (tree) order
export function addCode(row, position = codeOrder.length) {
  const [id, name, color, shortcut, depth, parent] = row;
  codes.set(id, { id, name, color, shortcut, depth, parent });
  if (!codeOrder.includes(id)) codeOrder.splice(position, 0, id);
  codeOrder.forEach((cid, i) => {
    codes.get(cid).order = i;
  });
}
export function dropCode(id) {
  codes.delete(id);
  const k = codeOrder.indexOf(id);
  if (k >= 0) codeOrder.splice(k, 1);
}
data.codes.forEach((row) => addCode(row));

export const coders = new Map(Object.entries(data.coders).map(([k, v]) => [Number(k), v]));
export const excerpts = new Map(); // id -> {id, s, e, codings: [[id, code, coder]], memos: [[id, author, preview]]}
export function putExcerpt(row) {
  const [id, s, e, codings, memos] = row;
  excerpts.set(id, { id, s, e, codings, memos, ranges: null });
}
data.excerpts.forEach(putExcerpt);

export const filter = { coder: null, hiddenCodes: new Set(), hideAll: false };

/** The codes of `ex` that pass the filters, each with the coders who applied it. */
export function visibleUnits(ex) {
  if (filter.hideAll) return [];
  const byCode = new Map();
  for (const [, code, coder] of ex.codings) {
    if (filter.coder !== null && coder !== filter.coder) continue;
    if (filter.hiddenCodes.has(code) || !codes.has(code)) continue;
    if (!byCode.has(code)) byCode.set(code, []);
    byCode.get(code).push(coder);
  }
  return [...byCode.entries()]
    .sort((a, b) => codes.get(a[0]).order - codes.get(b[0]).order)
    .map(([code, who]) => ({ ex, code, coders: who }));
}

export const byPara = new Map(); // paragraph index -> excerpts touching it
export function rebuildParaIndex() {
  byPara.clear();
  for (const ex of excerpts.values()) {
    for (const { i } of idx.pieces(ex.s, ex.e)) {
      if (!byPara.has(i)) byPara.set(i, []);
      byPara.get(i).push(ex);
    }
  }
}

export function excerptsAt(off) {
  const i = idx.paraAt(off);
  return (byPara.get(i) || []).filter((ex) => ex.s <= off && off < ex.e);
}

// --- the selection in the text ----------------------------------------------------------------

/** The selection in the text (snapped to words), or null. */
export function currentSpan() {
  const sel = idx.selection();
  return sel ? idx.snapToWords(sel.start, sel.end) : null;
}

export function selectSpan(span, { scroll = true } = {}) {
  idx.select(span.start, span.end);
  if (scroll) {
    const rect = idx.range(span.start, span.end).getBoundingClientRect();
    const box = docEl.getBoundingClientRect();
    if (rect.top < box.top + 40 || rect.bottom > box.bottom - 40) {
      docEl.scrollBy({ top: rect.top - box.top - box.height / 3 });
    }
  }
}

export function selectionRect() {
  const sel = window.getSelection();
  if (!sel || !sel.rangeCount) return null;
  const rects = sel.getRangeAt(0).getClientRects();
  return rects.length ? rects[rects.length - 1] : sel.getRangeAt(0).getBoundingClientRect();
}

/** Scroll the text so that [s, e) sits a third down the view. */
export function scrollToSpan(s, e) {
  const rect = idx.range(s, e).getBoundingClientRect();
  const box = docEl.getBoundingClientRect();
  docEl.scrollBy({ top: rect.top - box.top - box.height / 3 });
}
