// The transcript view: highlights, coding stripes, hover cards, the code picker, the passage
// inspector, keyboard coding and undo. The server rendered the text once; this module lays the
// codings over it and keeps them in step with small JSON deltas from the write endpoints.
//
// Highlights use the CSS Custom Highlight API (no DOM changes, so 5,000 codings over 200,000
// words cost a few milliseconds); browsers without it (or `?highlight=dom`) get per-paragraph
// <span> layers painted only for the turns on screen. Transcript text only ever enters the DOM
// through textContent.

import { Spans, TextIndex, isWord } from "./offsets.js";

const $ = (id) => document.getElementById(id);
const data = JSON.parse($("ws-data").textContent);
const S = JSON.parse($("ws-strings").textContent);
const docEl = $("ws-doc");
const idx = new TextIndex(docEl);
const sentences = new Spans(data.sentences);
const turns = new Spans(data.turns);
const canWrite = Boolean(data.canWrite);
const useApi =
  typeof CSS !== "undefined" &&
  CSS.highlights !== undefined &&
  typeof Highlight !== "undefined" &&
  new URLSearchParams(location.search).get("highlight") !== "dom";
document.body.dataset.highlight = useApi ? "api" : "dom";

const fmt = (s, params) => s.replace(/%\((\w+)\)s/g, (_m, k) => String(params[k] ?? ""));
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

// --- state ----------------------------------------------------------------------------------

const codes = new Map(); // id -> {id, name, color, shortcut, depth, parent, order}
const codeOrder = []; // ids in codebook (tree) order
function addCode(row, position = codeOrder.length) {
  const [id, name, color, shortcut, depth, parent] = row;
  codes.set(id, { id, name, color, shortcut, depth, parent });
  if (!codeOrder.includes(id)) codeOrder.splice(position, 0, id);
  codeOrder.forEach((cid, i) => {
    codes.get(cid).order = i;
  });
}
data.codes.forEach((row) => addCode(row));

const coders = new Map(Object.entries(data.coders).map(([k, v]) => [Number(k), v]));
const excerpts = new Map(); // id -> {id, s, e, codings: [[id, code, coder]], memos: [[id, author, preview]]}
function putExcerpt(row) {
  const [id, s, e, codings, memos] = row;
  excerpts.set(id, { id, s, e, codings, memos, ranges: null });
}
data.excerpts.forEach(putExcerpt);

const filter = { coder: null, hiddenCodes: new Set(), hideAll: false };
let activeExcerpt = null;
let version = 0; // bumped on every change; painted sections remember the version they show

// --- which codings show ---------------------------------------------------------------------

/** The codes of `ex` that pass the filters, each with the coders who applied it. */
function visibleUnits(ex) {
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

let byPara = new Map(); // paragraph index -> excerpts touching it
function rebuildParaIndex() {
  byPara = new Map();
  for (const ex of excerpts.values()) {
    for (const { i } of idx.pieces(ex.s, ex.e)) {
      if (!byPara.has(i)) byPara.set(i, []);
      byPara.get(i).push(ex);
    }
  }
}

function excerptsAt(off) {
  const i = idx.paraAt(off);
  return (byPara.get(i) || []).filter((ex) => ex.s <= off && off < ex.e);
}

// --- highlight colours ----------------------------------------------------------------------

function rgba(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255} ${(n >> 8) & 255} ${n & 255} / ${alpha})`;
}

const sheet = new CSSStyleSheet();
document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
function writeHighlightRules() {
  const rules = [];
  for (const c of codes.values()) {
    if (/^#[0-9a-fA-F]{6}$/.test(c.color)) {
      rules.push(`::highlight(ws-c${c.id}) { background-color: ${rgba(c.color, 0.3)}; }`);
      // Where passages of several codes overlap: the innermost code's colour as background,
      // the next one's as a thick underline (tinted backgrounds stacked blend into grey); all
      // of them stay in the margin stripes.
      rules.push(`::highlight(ws-u${c.id}) { text-decoration: underline solid ${c.color} 3px; }`);
    }
  }
  sheet.replaceSync(rules.join("\n"));
}

// --- painting -------------------------------------------------------------------------------

const sections = Array.from(docEl.querySelectorAll("section.turn"));
const onScreen = new Set();
const painted = new WeakMap(); // section -> version painted

// The text is rendered once, so a span's StaticRanges stay valid: computed once per span.
const rangeCache = new Map();
function rangesOf(s, e) {
  const key = `${s}:${e}`;
  let r = rangeCache.get(key);
  if (!r) {
    r = idx.staticRanges(s, e);
    rangeCache.set(key, r);
  }
  return r;
}

/** The coded text cut where the set of visible codes changes: each stretch with the code whose
 * background it shows (the innermost passage's code; ties in codebook order) and, where
 * another code overlaps, the code it is underlined with. Adjacent stretches that look the
 * same are merged, so a passage without overlaps is one stretch. */
function overlapSegments() {
  const events = [];
  for (const ex of excerpts.values()) {
    for (const u of visibleUnits(ex)) {
      const item = { code: u.code, len: ex.e - ex.s, order: codes.get(u.code).order };
      events.push([ex.s, 1, item], [ex.e, -1, item]);
    }
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const active = new Set();
  const out = [];
  let at = null;
  for (let k = 0; k < events.length; ) {
    const pos = events[k][0];
    if (at !== null && pos > at && active.size) {
      const [first, ...rest] = [...active].sort((a, b) => a.len - b.len || a.order - b.order);
      const other = rest.find((x) => x.code !== first.code);
      const seg = { s: at, e: pos, bg: first.code, ul: other ? other.code : null };
      const last = out[out.length - 1];
      if (last && last.e === seg.s && last.bg === seg.bg && last.ul === seg.ul) last.e = seg.e;
      else out.push(seg);
    }
    for (; k < events.length && events[k][0] === pos; k++) {
      const [, kind, item] = events[k];
      if (kind > 0) active.add(item);
      else active.delete(item);
    }
    at = pos;
  }
  return out;
}

function paintHighlightsApi() {
  for (const name of [...CSS.highlights.keys()]) {
    if (name.startsWith("ws-")) CSS.highlights.delete(name);
  }
  const byCode = new Map();
  const underlined = new Map();
  const add = (map, code, ranges) => {
    if (!map.has(code)) map.set(code, []);
    map.get(code).push(...ranges);
  };
  for (const seg of overlapSegments()) {
    const ranges = rangesOf(seg.s, seg.e);
    add(byCode, seg.bg, ranges);
    if (seg.ul !== null) add(underlined, seg.ul, ranges);
  }
  for (const [code, ranges] of byCode) {
    const h = new Highlight(...ranges);
    h.priority = codes.get(code).depth;
    CSS.highlights.set(`ws-c${code}`, h);
  }
  for (const [code, ranges] of underlined) {
    CSS.highlights.set(`ws-u${code}`, new Highlight(...ranges));
  }
  if (activeExcerpt && excerpts.has(activeExcerpt)) {
    const ex = excerpts.get(activeExcerpt);
    const h = new Highlight(...(ex.ranges || idx.staticRanges(ex.s, ex.e)));
    h.priority = 100;
    CSS.highlights.set("ws-active", h);
  }
}

/** Fallback: rebuild one paragraph as spans, one per stretch with the same codes. */
function paintParagraphDom(i) {
  const t = idx.texts[i];
  const base = idx.starts[i];
  const layers = [];
  for (const ex of byPara.get(i) || []) {
    for (const u of visibleUnits(ex)) {
      layers.push({
        s: Math.max(ex.s, base) - base,
        e: Math.min(ex.e, base + t.length) - base,
        u,
      });
    }
  }
  const target = idx.els[i];
  if (!layers.length) {
    if (target.childNodes.length !== 1 || target.firstChild.nodeType !== Node.TEXT_NODE) {
      target.textContent = t;
    }
    return;
  }
  const cuts = new Set([0, t.length]);
  layers.forEach((l) => {
    cuts.add(l.s);
    cuts.add(l.e);
  });
  const points = [...cuts].sort((a, b) => a - b);
  const frag = document.createDocumentFragment();
  for (let k = 0; k + 1 < points.length; k++) {
    const [a, b] = [points[k], points[k + 1]];
    const on = layers.filter((l) => l.s <= a && b <= l.e);
    if (!on.length) {
      frag.append(document.createTextNode(t.slice(a, b)));
      continue;
    }
    const span = el("span", "hl", t.slice(a, b));
    span.style.backgroundImage = on
      .map((l) => {
        const c = rgba(codes.get(l.u.code).color, 0.3);
        return `linear-gradient(${c}, ${c})`;
      })
      .join(", ");
    if (on.some((l) => l.u.ex.id === activeExcerpt)) span.classList.add("is-active");
    frag.append(span);
  }
  target.replaceChildren(frag);
}

/** Coding stripes in the right margin of one turn: one stripe per code and passage, in lanes
 * so that overlapping passages sit side by side. */
function paintStripes(section) {
  const box = section.querySelector(".stripes");
  box.replaceChildren();
  const ts = Number(section.dataset.s);
  const te = Number(section.dataset.e);
  if (filter.hideAll) return;
  const top0 = section.getBoundingClientRect().top;
  const seen = new Set();
  const units = [];
  const first = idx.paraOfElement(section.querySelector(".t"));
  if (first < 0) return;
  for (let i = first; i < idx.length && idx.starts[i] < te; i++) {
    for (const ex of byPara.get(i) || []) {
      if (seen.has(ex.id)) continue;
      seen.add(ex.id);
      const s = Math.max(ex.s, ts);
      const e = Math.min(ex.e, te);
      if (e <= s) continue;
      const vis = visibleUnits(ex);
      if (!vis.length) continue;
      const a = idx.range(s, Math.min(e, idx.char(s, 1)?.next ?? e)).getBoundingClientRect();
      const b = idx.range(Math.max(s, idx.char(e, -1)?.next ?? s), e).getBoundingClientRect();
      const y0 = a.top - top0;
      const y1 = Math.max(b.bottom - top0, y0 + 6);
      vis.forEach((u) => units.push({ ...u, y0, y1 }));
    }
  }
  units.sort((p, q) => p.y0 - q.y0 || q.y1 - p.y1 || codes.get(p.code).order - codes.get(q.code).order);
  const laneEnds = [];
  for (const u of units) {
    let lane = laneEnds.findIndex((end) => end <= u.y0 + 1);
    if (lane < 0) {
      lane = laneEnds.length;
      laneEnds.push(0);
    }
    laneEnds[lane] = u.y1;
    u.lane = lane;
  }
  const width = box.clientWidth || 64;
  const step = Math.max(3, Math.min(9, Math.floor(width / Math.max(1, laneEnds.length))));
  for (const u of units) {
    const st = el("div", "stripe");
    st.style.top = `${u.y0}px`;
    st.style.height = `${u.y1 - u.y0}px`;
    st.style.left = `${u.lane * step}px`;
    st.style.width = `${Math.max(2, step - 3)}px`;
    st.style.background = codes.get(u.code).color;
    st.dataset.ex = u.ex.id;
    st.dataset.code = u.code;
    if (u.ex.id === activeExcerpt) st.classList.add("is-active");
    box.append(st);
  }
}

function paintSection(section) {
  if (painted.get(section) === version) return;
  painted.set(section, version);
  if (!useApi) {
    const first = idx.paraOfElement(section.querySelector(".t"));
    if (first >= 0) {
      const te = Number(section.dataset.e);
      for (let i = first; i < idx.length && idx.starts[i] < te; i++) paintParagraphDom(i);
      // The paragraphs of this turn may hold other turns' text in DOM mode: none (turns own
      // their paragraphs), so nothing else to repaint.
    }
  }
  paintStripes(section);
}

let frame = 0;
function repaint() {
  version += 1;
  if (useApi) paintHighlightsApi();
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    onScreen.forEach(paintSection);
  });
}

const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) {
        onScreen.add(entry.target);
        paintSection(entry.target);
      } else {
        onScreen.delete(entry.target);
      }
    }
  },
  { root: docEl, rootMargin: "400px 0px" },
);
sections.forEach((s) => observer.observe(s));
new ResizeObserver(() => {
  version += 1;
  onScreen.forEach(paintSection);
}).observe(docEl);

// --- the codebook panel and counts ----------------------------------------------------------

const codeList = $("ws-codes");
function recount() {
  const here = new Map();
  let total = 0;
  for (const ex of excerpts.values()) {
    for (const [, code] of ex.codings) {
      here.set(code, (here.get(code) || 0) + 1);
      total += 1;
    }
  }
  codeList.querySelectorAll("[data-n-here]").forEach((n) => {
    n.textContent = String(here.get(Number(n.dataset.nHere)) || 0);
  });
  const stat = $("ws-stat");
  if (stat) stat.textContent = fmt(total === 1 ? S.coding : S.codings, { n: total });
  refreshCoderFilter();
}

function setProjectCounts(counts) {
  for (const [code, n] of Object.entries(counts || {})) {
    const cell = codeList.querySelector(`[data-n-all="${Number(code)}"]`);
    if (cell) cell.textContent = String(n);
  }
}

function addCodeToPanel(code) {
  if (codeList.querySelector(`[data-code="${code.id}"]`)) return;
  codeList.querySelector(".ws-empty")?.remove();
  const li = el("li", "ws-code is-root");
  li.dataset.code = code.id;
  li.dataset.def = "";
  li.style.setProperty("--code", code.color);
  li.style.setProperty("--depth", "0");
  const label = el("label");
  const box = el("input");
  box.type = "checkbox";
  box.checked = true;
  box.dataset.filterCode = code.id;
  label.append(box, el("span", "chip"), el("span", "name", code.name));
  const here = el("span", "n n-here", "0");
  here.dataset.nHere = code.id;
  const all = el("span", "n n-all", "0");
  all.dataset.nAll = code.id;
  li.append(label, here, all);
  codeList.append(li);
}

codeList.addEventListener("change", (ev) => {
  const box = ev.target.closest("[data-filter-code]");
  if (!box) return;
  const id = Number(box.dataset.filterCode);
  if (box.checked) filter.hiddenCodes.delete(id);
  else filter.hiddenCodes.add(id);
  repaint();
});

document.querySelector(".ws-codebook").addEventListener("click", (ev) => {
  const act = ev.target.closest("[data-act]")?.dataset.act;
  if (act === "codes-all" || act === "codes-none") {
    codeList.querySelectorAll("[data-filter-code]").forEach((box) => {
      box.checked = act === "codes-all";
      const id = Number(box.dataset.filterCode);
      if (box.checked) filter.hiddenCodes.delete(id);
      else filter.hiddenCodes.add(id);
    });
    repaint();
    return;
  }
  const name = ev.target.closest(".ws-code .name");
  if (!name) return;
  ev.preventDefault();
  const id = Number(name.closest(".ws-code").dataset.code);
  const span = codebookSpan;
  codebookSpan = null;
  if (span && canWrite) {
    applyCodes(span, [id]);
  } else {
    jumpToCode(id);
  }
});

// Coding from the codebook (the NVivo/MAXQDA habit): with words selected, a click on a code's
// name, or dropping the dragged selection on a code, codes them. The selection is read at
// mousedown, before the click would drop it (and before the picker, which holds it while it
// is open, closes).
let codebookSpan = null;
codeList.addEventListener("mousedown", (ev) => {
  if (!ev.target.closest(".ws-code .name")) return;
  ev.preventDefault(); // keep the text selection
  codebookSpan = currentSpan() || (picker.hidden ? null : pick.span);
});

let dragSpan = null;
docEl.addEventListener("dragstart", () => {
  dragSpan = canWrite ? currentSpan() : null;
});
docEl.addEventListener("dragend", () => {
  dragSpan = null;
  codeList.querySelector(".is-drop")?.classList.remove("is-drop");
});
codeList.addEventListener("dragover", (ev) => {
  const li = ev.target.closest(".ws-code");
  if (!dragSpan || !li) return;
  ev.preventDefault();
  ev.dataTransfer.dropEffect = "copy";
  if (!li.classList.contains("is-drop")) {
    codeList.querySelector(".is-drop")?.classList.remove("is-drop");
    li.classList.add("is-drop");
  }
});
codeList.addEventListener("drop", (ev) => {
  const li = ev.target.closest(".ws-code");
  if (!dragSpan || !li) return;
  ev.preventDefault();
  li.classList.remove("is-drop");
  const span = dragSpan;
  dragSpan = null;
  applyCodes(span, [Number(li.dataset.code)]);
});

let jumpFrom = -1;
function jumpToCode(codeId) {
  const list = [...excerpts.values()]
    .filter((ex) => ex.codings.some(([, c]) => c === codeId))
    .sort((a, b) => a.s - b.s);
  if (!list.length) return;
  const next = list.find((ex) => ex.s > jumpFrom) || list[0];
  jumpFrom = next.s;
  openInspector(next.id, { scroll: true });
}

$("ws-code-filter").addEventListener("input", (ev) => {
  const q = fold(ev.target.value);
  codeList.querySelectorAll(".ws-code").forEach((li) => {
    const c = codes.get(Number(li.dataset.code));
    li.hidden = Boolean(q) && !(c && fold(c.name).includes(q));
  });
});

// --- coder filter and hide all ---------------------------------------------------------------

const coderSelect = $("ws-coder");
function refreshCoderFilter() {
  const present = new Set();
  for (const ex of excerpts.values()) ex.codings.forEach(([, , coder]) => present.add(coder));
  const current = coderSelect.value;
  const wanted = [...present].sort((a, b) => (coders.get(a) || "").localeCompare(coders.get(b) || ""));
  const have = [...coderSelect.options].slice(1).map((o) => Number(o.value));
  if (wanted.join() === have.join()) return;
  while (coderSelect.options.length > 1) coderSelect.remove(1);
  for (const id of wanted) {
    const o = el("option", null, id === data.me ? `${coders.get(id) || id} (${S.you})` : coders.get(id) || String(id));
    o.value = String(id);
    coderSelect.append(o);
  }
  coderSelect.value = wanted.includes(Number(current)) ? current : "";
}
coderSelect.addEventListener("change", () => {
  filter.coder = coderSelect.value ? Number(coderSelect.value) : null;
  repaint();
});
$("ws-hide").addEventListener("change", (ev) => {
  filter.hideAll = ev.target.checked;
  document.body.classList.toggle("ws-hidden-coding", filter.hideAll);
  repaint();
});

// --- status, toasts, network ------------------------------------------------------------------

let statusTimer = 0;
function setStatus(text, kind = "") {
  const s = $("ws-status");
  s.textContent = text;
  s.dataset.kind = kind;
  clearTimeout(statusTimer);
  if (kind === "ok") statusTimer = setTimeout(() => (s.textContent = ""), 2500);
}

let toastTimer = 0;
function toast(text, kind = "error") {
  const t = $("ws-toast");
  t.textContent = text;
  t.dataset.kind = kind;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), kind === "error" ? 6000 : 3000);
}

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

const url = (name, id) => data.urls[name].replace(data.placeholder, String(id));

let pending = 0;
async function send(method, target, params = null) {
  pending += 1;
  setStatus(S.saving, "busy");
  let res;
  try {
    const init = { method, credentials: "same-origin", headers: { "X-Requested-With": "fetch" } };
    if (method === "POST") {
      init.headers["X-CSRFToken"] = csrfToken();
      const body = new URLSearchParams();
      for (const [k, v] of Object.entries(params || {})) {
        if (Array.isArray(v)) v.forEach((x) => body.append(k, String(x)));
        else if (v !== null && v !== undefined) body.append(k, String(v));
      }
      init.body = body;
    }
    res = await fetch(target, init);
  } catch {
    pending -= 1;
    setStatus("");
    toast(S.failed);
    return null;
  }
  pending -= 1;
  const json = (res.headers.get("content-type") || "").includes("json") ? await res.json() : null;
  if (!res.ok) {
    setStatus("");
    const fallback = res.status === 403 ? S.forbidden : res.status === 404 ? S.notFound : S.failed;
    toast((json && json.error) || fallback);
    return null;
  }
  if (!pending) setStatus(method === "POST" ? S.saved : "", "ok");
  return json;
}

function applyDelta(d) {
  for (const id of d.removed || []) excerpts.delete(id);
  for (const row of d.excerpts || []) putExcerpt(row);
  for (const [k, v] of Object.entries(d.coders || {})) coders.set(Number(k), v);
  for (const id of d.deletedCodes || []) removeCode(id);
  setProjectCounts(d.counts);
  setUndo(d.undo);
  rebuildParaIndex();
  recount();
  if (activeExcerpt && !excerpts.has(activeExcerpt)) closeInspector();
  repaint();
}

function removeCode(id) {
  codes.delete(id);
  const k = codeOrder.indexOf(id);
  if (k >= 0) codeOrder.splice(k, 1);
  codeList.querySelector(`[data-code="${id}"]`)?.remove();
}

// --- undo -----------------------------------------------------------------------------------

const undoBtn = $("ws-undo");
function setUndo(label) {
  if (!undoBtn) return;
  undoBtn.disabled = !label;
  undoBtn.title = label || S.nothingToUndo;
  undoBtn.dataset.label = label || "";
}
setUndo(data.undo);

async function undo() {
  if (!canWrite) return;
  const d = await send("POST", data.urls.undo);
  if (!d) return;
  applyDelta(d);
  toast(d.message || S.nothingToUndo, "ok");
  if (activeExcerpt && excerpts.has(activeExcerpt)) openInspector(activeExcerpt);
}
undoBtn?.addEventListener("click", undo);

// --- selection helpers ----------------------------------------------------------------------

/** The selection in the text (snapped to words), or null. */
function currentSpan() {
  const sel = idx.selection();
  return sel ? idx.snapToWords(sel.start, sel.end) : null;
}

function selectSpan(span, { scroll = true } = {}) {
  idx.select(span.start, span.end);
  if (scroll) {
    const rect = idx.range(span.start, span.end).getBoundingClientRect();
    const box = docEl.getBoundingClientRect();
    if (rect.top < box.top + 40 || rect.bottom > box.bottom - 40) {
      docEl.scrollBy({ top: rect.top - box.top - box.height / 3 });
    }
  }
}

function selectionRect() {
  const sel = window.getSelection();
  if (!sel || !sel.rangeCount) return null;
  const rects = sel.getRangeAt(0).getClientRects();
  return rects.length ? rects[rects.length - 1] : sel.getRangeAt(0).getBoundingClientRect();
}

// --- coding ---------------------------------------------------------------------------------

const recentKey = `ws-recent-${data.project}`;
function recentCodes() {
  try {
    return JSON.parse(localStorage.getItem(recentKey) || "[]").filter((id) => codes.has(id));
  } catch {
    return [];
  }
}
function remember(ids) {
  const list = [...ids, ...recentCodes().filter((id) => !ids.includes(id))].slice(0, 6);
  try {
    localStorage.setItem(recentKey, JSON.stringify(list));
  } catch {
    // private mode: no recent list
  }
}

async function applyCodes(span, ids) {
  if (!canWrite || !span || !ids.length) return;
  closePicker();
  const d = await send("POST", data.urls.code, { start: span.start, end: span.end, code: ids });
  if (!d) return;
  remember(ids);
  applyDelta(d);
  window.getSelection().removeAllRanges();
  flash(d.excerpt);
  setStatus(S.coded, "ok");
}

async function codeInVivo(span) {
  if (!canWrite || !span) return;
  closePicker();
  const d = await send("POST", data.urls.inVivo, { start: span.start, end: span.end });
  if (!d) return;
  if (d.code && !codes.has(d.code[0])) {
    addCode(d.code);
    writeHighlightRules();
    addCodeToPanel(codes.get(d.code[0]));
  }
  remember([d.code[0]]);
  applyDelta(d);
  window.getSelection().removeAllRanges();
  flash(d.excerpt);
  setStatus(S.coded, "ok");
}

function flash(excerptId) {
  const ex = excerpts.get(excerptId);
  if (!ex || !useApi) return;
  const h = new Highlight(...(ex.ranges || idx.staticRanges(ex.s, ex.e)));
  h.priority = 99;
  CSS.highlights.set("ws-flash", h);
  setTimeout(() => CSS.highlights.delete("ws-flash"), 700);
}

// --- the picker -----------------------------------------------------------------------------

const picker = $("ws-picker");
const pickerSearch = $("ws-picker-search");
const pickerList = $("ws-picker-list");
const pickerApply = $("ws-picker-apply");
const pickerInVivo = $("ws-picker-invivo");
const pick = { span: null, marked: new Set(), rows: [], active: 0 };

const fold = (s) =>
  s
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/æ/g, "ae")
    .replace(/ø/g, "o");

function pickerRows() {
  const q = fold(pickerSearch.value.trim());
  if (q) {
    return codeOrder
      .map((id) => codes.get(id))
      .filter((c) => fold(c.name).includes(q))
      .map((c) => ({ code: c, flat: true }));
  }
  const rows = [];
  const recent = recentCodes();
  if (recent.length) {
    rows.push({ heading: S.recent });
    recent.forEach((id) => rows.push({ code: codes.get(id), flat: true, recent: true }));
    rows.push({ heading: S.allCodes });
  }
  codeOrder.forEach((id) => rows.push({ code: codes.get(id) }));
  return rows;
}

function renderPicker() {
  pick.rows = pickerRows();
  const selectable = pick.rows.filter((r) => r.code);
  pick.active = Math.min(pick.active, Math.max(0, selectable.length - 1));
  pickerList.replaceChildren();
  let k = 0;
  for (const row of pick.rows) {
    if (row.heading) {
      pickerList.append(el("li", "ws-picker-heading", row.heading));
      continue;
    }
    const c = row.code;
    const li = el("li", "ws-pick");
    li.setAttribute("role", "option");
    li.dataset.code = c.id;
    li.dataset.k = k;
    li.style.setProperty("--code", c.color);
    li.style.setProperty("--depth", row.flat ? 0 : c.depth);
    li.setAttribute("aria-selected", pick.marked.has(c.id) ? "true" : "false");
    if (k === pick.active) li.classList.add("is-active");
    const box = el("input");
    box.type = "checkbox";
    box.tabIndex = -1;
    box.checked = pick.marked.has(c.id);
    box.className = "mark";
    box.setAttribute("aria-label", c.name);
    const name = el("span", "name", c.name);
    li.append(box, el("span", "chip"), name);
    if (c.shortcut) li.append(el("kbd", null, c.shortcut));
    pickerList.append(li);
    k += 1;
  }
  if (!selectable.length) pickerList.append(el("li", "ws-picker-empty", S.noCodes));
  pickerApply.textContent = pick.marked.size > 1 ? fmt(S.applyN, { n: pick.marked.size }) : S.apply;
  pickerList.querySelector(".is-active")?.scrollIntoView({ block: "nearest" });
}

function inVivoName(span) {
  const words = idx.slice(span.start, span.end).split(/\s+/).join(" ");
  const name = words.replace(/^[\s"'«»“”‘’.,;:!?…()[\]–—-]+|[\s"'«»“”‘’.,;:!?…()[\]–—-]+$/gu, "");
  return name.length > 60 ? `${name.slice(0, 60)}…` : name;
}

/** While the picker has the focus the browser drops the text selection; this keeps it shown. */
function showPending(span) {
  if (!useApi) return;
  if (span) CSS.highlights.set("ws-pending", new Highlight(...idx.staticRanges(span.start, span.end)));
  else CSS.highlights.delete("ws-pending");
}

let lastSelected = null; // the last selection made in the text, for "Use selection"

function openPicker(span) {
  if (!canWrite || !span) return;
  pick.span = span;
  lastSelected = span;
  showPending(span);
  pick.marked = new Set();
  pick.active = 0;
  pickerSearch.value = "";
  pickerInVivo.textContent = fmt(S.inVivo, { name: inVivoName(span) });
  renderPicker();
  picker.hidden = false;
  placePicker(selectionRect() || idx.range(span.start, span.end).getBoundingClientRect());
  // Each opening starts at the top: "Recently used" and the row Enter applies are in view (the
  // list kept where it was last scrolled to).
  pickerList.scrollTop = 0;
  pickerSearch.focus({ preventScroll: true });
}

/** Below the selection if it fits (shortening the list a little if need be), else above. */
function placePicker(rect) {
  pickerList.style.maxHeight = "";
  const w = picker.offsetWidth;
  const h = picker.offsetHeight;
  const below = window.innerHeight - rect.bottom - 16;
  const above = rect.top - 16;
  const listMin = 180;
  const list = pickerList.offsetHeight;
  let top;
  if (h <= below || below - (h - list) >= listMin || below >= above) {
    top = rect.bottom + 8;
    if (h > below) pickerList.style.maxHeight = `${Math.max(listMin, list - (h - below))}px`;
  } else {
    if (h > above) pickerList.style.maxHeight = `${Math.max(listMin, list - (h - above))}px`;
    top = Math.max(8, rect.top - 8 - picker.offsetHeight);
  }
  picker.style.left = `${Math.min(Math.max(8, rect.left), window.innerWidth - w - 8)}px`;
  picker.style.top = `${top}px`;
}

function closePicker() {
  if (picker.hidden) return;
  picker.hidden = true;
  pick.span = null;
  showPending(null);
}

function pickerCommit(extra = []) {
  const ids = [...pick.marked, ...extra.filter((id) => !pick.marked.has(id))];
  if (!ids.length) {
    const row = pick.rows.filter((r) => r.code)[pick.active];
    if (row) ids.push(row.code.id);
  }
  const span = pick.span;
  applyCodes(span, ids);
}

function toggleMark(id) {
  if (pick.marked.has(id)) pick.marked.delete(id);
  else pick.marked.add(id);
  renderPicker();
}

pickerSearch.addEventListener("input", () => {
  pick.active = 0;
  renderPicker();
});
pickerSearch.addEventListener("keydown", (ev) => {
  const selectable = pick.rows.filter((r) => r.code);
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    ev.preventDefault();
    const n = selectable.length;
    if (n) pick.active = (pick.active + (ev.key === "ArrowDown" ? 1 : n - 1)) % n;
    renderPicker();
  } else if (ev.key === "Enter") {
    ev.preventDefault();
    pickerCommit();
  } else if (ev.key === "Escape") {
    ev.preventDefault();
    closePicker();
    docEl.focus({ preventScroll: true });
  } else if (ev.key === " " && !pickerSearch.value) {
    ev.preventDefault();
    const row = selectable[pick.active];
    if (row) toggleMark(row.code.id);
  } else if (/^[0-9]$/.test(ev.key) && !pickerSearch.value && !ev.ctrlKey && !ev.metaKey) {
    const code = [...codes.values()].find((c) => c.shortcut === ev.key);
    if (code) {
      ev.preventDefault();
      pickerCommit([code.id]);
    }
  } else if (ev.altKey && (ev.key === "v" || ev.key === "V" || ev.code === "KeyV")) {
    ev.preventDefault();
    codeInVivo(pick.span);
  }
});
pickerList.addEventListener("mousedown", (ev) => ev.preventDefault()); // keep the selection
pickerList.addEventListener("click", (ev) => {
  const li = ev.target.closest(".ws-pick");
  if (!li) return;
  const id = Number(li.dataset.code);
  pick.active = Number(li.dataset.k);
  if (ev.target.classList.contains("mark") || ev.ctrlKey || ev.metaKey || ev.shiftKey) {
    ev.preventDefault();
    toggleMark(id);
  } else {
    pickerCommit([id]);
  }
});
pickerApply.addEventListener("click", () => pickerCommit());
pickerInVivo.addEventListener("click", () => codeInVivo(pick.span));
document.addEventListener("mousedown", (ev) => {
  if (!picker.hidden && !picker.contains(ev.target)) closePicker();
});

// --- the inspector --------------------------------------------------------------------------

const inspector = $("ws-inspector-body");
const inspectorEmpty = $("ws-inspector-empty");
let inspected = null; // the excerpt detail shown

function closeInspector() {
  activeExcerpt = null;
  inspected = null;
  inspector.hidden = true;
  inspectorEmpty.hidden = false;
  repaint();
}

async function openInspector(excerptId, { scroll = false } = {}) {
  const d = await send("GET", url("excerpt", excerptId));
  if (!d) return;
  activeExcerpt = d.id;
  inspected = d;
  renderInspector();
  repaint();
  if (scroll) {
    const ex = excerpts.get(d.id);
    if (ex) {
      const rect = idx.range(ex.s, ex.e).getBoundingClientRect();
      const box = docEl.getBoundingClientRect();
      docEl.scrollBy({ top: rect.top - box.top - box.height / 3 });
    }
  }
}

function button(cls, text, title, onClick) {
  const b = el("button", `ws-btn ${cls}`, text);
  b.type = "button";
  if (title) b.title = title;
  b.addEventListener("click", onClick);
  return b;
}

function renderInspector() {
  const d = inspected;
  inspector.replaceChildren();
  inspectorEmpty.hidden = true;
  inspector.hidden = false;

  const head = el("header", "ws-insp-head");
  head.append(el("h2", null, fmt(S.paragraph, { n: d.paragraph })));
  head.append(button("ws-icon", "×", S.close, closeInspector));
  inspector.append(head);

  const quote = el("blockquote", "ws-quote");
  quote.textContent = d.text.length > 700 ? `${d.text.slice(0, 700)}…` : d.text;
  inspector.append(quote);

  inspector.append(el("h3", null, S.codesOnPassage));
  const list = el("ul", "ws-insp-codes");
  for (const c of d.codings) {
    const code = codes.get(c.code);
    const li = el("li");
    li.style.setProperty("--code", code ? code.color : "#999");
    li.dataset.coding = c.id;
    li.append(el("span", "chip"));
    const text = el("span", "what");
    text.append(el("span", "name", code ? code.name : "?"));
    text.append(el("span", "by", fmt(S.by, { coder: c.coder === data.me ? S.you : c.coderName })));
    li.append(text);
    if (c.canRemove) {
      li.append(button("ws-icon ws-remove", "×", S.removeCode, () => removeCoding(c.id)));
    }
    list.append(li);
  }
  inspector.append(list);
  if (canWrite) {
    inspector.append(
      button("ws-add", `+ ${S.addCode}`, null, () => {
        const ex = excerpts.get(d.id);
        if (!ex) return;
        selectSpan({ start: ex.s, end: ex.e }, { scroll: false });
        openPicker({ start: ex.s, end: ex.e });
      }),
    );
  }

  if (d.canResize) {
    inspector.append(el("h3", null, S.boundaries));
    const grid = el("div", "ws-bounds");
    const ex = () => excerpts.get(d.id);
    const resizeBy = (fn) => () => {
      const e = ex();
      if (e) resize(d.id, fn(e));
    };
    grid.append(
      el("span", "lbl", S.start),
      button("start", `‹ ${S.earlier}`, S.startEarlier, resizeBy((e) => ({ start: idx.stepWord(e.s, -1, "start"), end: e.e }))),
      button("start", `${S.later} ›`, S.startLater, resizeBy((e) => ({ start: idx.stepWord(e.s, 1, "start"), end: e.e }))),
      el("span", "lbl", S.end),
      button("end", `‹ ${S.earlier}`, S.endEarlier, resizeBy((e) => ({ start: e.s, end: idx.stepWord(e.e, -1, "end") }))),
      button("end", `${S.later} ›`, S.endLater, resizeBy((e) => ({ start: e.s, end: idx.stepWord(e.e, 1, "end") }))),
    );
    inspector.append(grid);
    const row = el("div", "ws-bounds-row");
    row.append(
      button("", S.toSentence, null, resizeBy((e) => (sentences.length ? sentences.extend(e.s, e.e) : { start: e.s, end: e.e }))),
      button("", S.toTurn, null, resizeBy((e) => (turns.length ? turns.extend(e.s, e.e) : { start: e.s, end: e.e }))),
      button("ws-use-selection", S.useSelection, S.useSelectionHelp, () => {
        // The picker took the focus (and the browser's selection) when the text was selected.
        const span = currentSpan() || lastSelected;
        if (!span) {
          toast(S.useSelectionHelp, "info");
          return;
        }
        resize(d.id, span);
      }),
    );
    inspector.append(row);
  }

  inspector.append(el("h3", null, S.memos));
  const memos = el("div", "ws-memos");
  let mine = null;
  for (const m of d.memos) {
    if (m.canEdit && !mine) {
      mine = m;
      continue;
    }
    const art = el("article", "ws-memo");
    art.append(el("p", "ws-memo-text", m.text));
    art.append(el("p", "ws-memo-by", m.authorName));
    memos.append(art);
  }
  if (canWrite) {
    const form = el("form", "ws-memo-form");
    const area = el("textarea");
    area.name = "text";
    area.rows = 4;
    area.placeholder = S.writeMemo;
    area.value = mine ? mine.text : "";
    area.setAttribute("aria-label", S.memo);
    form.append(area);
    const actions = el("div", "ws-memo-actions");
    const save = el("button", "ws-btn primary", S.saveMemo);
    save.type = "submit";
    actions.append(save);
    if (mine) {
      actions.append(
        button("ws-danger", S.deleteMemo, null, () => saveMemo(d.id, mine.id, "")),
      );
    }
    form.append(actions);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      saveMemo(d.id, mine ? mine.id : null, area.value);
    });
    area.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        form.requestSubmit();
      }
    });
    memos.append(form);
  } else if (mine) {
    const art = el("article", "ws-memo");
    art.append(el("p", "ws-memo-text", mine.text));
    memos.append(art);
  }
  inspector.append(memos);
  // Key quotes are a server-rendered fragment; keyquotes.js puts it in place.
  inspector.dispatchEvent(new CustomEvent("ws:inspector", { detail: { excerpt: d.id } }));
}

async function removeCoding(codingId) {
  const d = await send("POST", url("uncode", codingId));
  if (!d) return;
  applyDelta(d);
  setStatus(S.removed, "ok");
  if (activeExcerpt && excerpts.has(activeExcerpt)) openInspector(activeExcerpt);
}

async function resize(excerptId, span) {
  if (!span || span.end <= span.start) return;
  lastSelected = null;
  const d = await send("POST", url("resize", excerptId), { start: span.start, end: span.end });
  if (!d) return;
  applyDelta(d);
  setStatus(S.resized, "ok");
  window.getSelection().removeAllRanges();
  openInspector(d.excerpt);
}

async function saveMemo(excerptId, memoId, text) {
  const d = await send("POST", url("memo", excerptId), { memo: memoId, text });
  if (!d) return;
  applyDelta(d);
  inspected = d.detail;
  renderInspector();
  setStatus(text.trim() ? S.memoSaved : S.memoDeleted, "ok");
}

// --- hover cards ----------------------------------------------------------------------------

const tip = $("ws-tip");
function showTip(units, x, y) {
  tip.replaceChildren();
  const memoShown = new Set(); // one excerpt's memo once, not once per code on it
  for (const u of units.slice(0, 6)) {
    const row = el("div", "ws-tip-row");
    row.style.setProperty("--code", codes.get(u.code).color);
    row.append(el("span", "chip"));
    const body = el("div");
    body.append(el("strong", null, codes.get(u.code).name));
    const who = [...new Set(u.coders)].map((id) => (id === data.me ? S.you : coders.get(id) || id));
    body.append(el("div", "by", fmt(S.by, { coder: who.join(", ") })));
    const memo = u.ex.memos[0];
    if (memo && !memoShown.has(u.ex.id)) {
      memoShown.add(u.ex.id);
      body.append(el("div", "memo", memo[2]));
    }
    row.append(body);
    tip.append(row);
  }
  if (units.length > 6) tip.append(el("div", "more", `+${units.length - 6}`));
  placeTip(x, y);
}
function showText(title, text, x, y) {
  tip.replaceChildren(el("strong", null, title));
  if (text) tip.append(el("div", "def", text));
  placeTip(x, y);
}
/** Below the pointer, or above it where there is no room; never outside the window. */
function placeTip(x, y) {
  tip.hidden = false;
  const w = tip.offsetWidth;
  const h = tip.offsetHeight;
  const fitsBelow = y + 18 + h <= window.innerHeight - 8;
  const top = fitsBelow ? y + 18 : Math.max(8, Math.min(y - h - 10, window.innerHeight - h - 8));
  tip.style.left = `${Math.max(8, Math.min(x + 14, window.innerWidth - w - 8))}px`;
  tip.style.top = `${top}px`;
}
const hideTip = () => {
  tip.hidden = true;
};

function caretAt(x, y) {
  if (document.caretPositionFromPoint) {
    const p = document.caretPositionFromPoint(x, y);
    return p ? [p.offsetNode, p.offset] : null;
  }
  if (document.caretRangeFromPoint) {
    const r = document.caretRangeFromPoint(x, y);
    return r ? [r.startContainer, r.startOffset] : null;
  }
  return null;
}

function contains(rect, x, y) {
  return x >= rect.left - 1 && x <= rect.right + 1 && y >= rect.top - 1 && y <= rect.bottom + 1;
}

/** The excerpts under the pointer, innermost first (checked against the glyph's box). */
function excerptsAtPoint(x, y) {
  const p = caretAt(x, y);
  if (!p || !p[0].parentElement || !p[0].parentElement.closest(".t")) return [];
  const off = idx.pointToOffset(p[0], p[1], "start");
  for (const o of [off, off - 1]) {
    const c = idx.char(o, 1);
    if (!c || c.next - o > 2) continue;
    const rect = idx.range(o, c.next).getBoundingClientRect();
    if (contains(rect, x, y)) {
      return excerptsAt(o).sort((a, b) => a.e - a.s - (b.e - b.s));
    }
  }
  return [];
}

let hoverFrame = 0;
docEl.addEventListener("mousemove", (ev) => {
  if (hoverFrame) return;
  const { clientX: x, clientY: y, target } = ev;
  hoverFrame = requestAnimationFrame(() => {
    hoverFrame = 0;
    if (target.classList && target.classList.contains("stripe")) {
      const ex = excerpts.get(Number(target.dataset.ex));
      if (ex) {
        const unit = visibleUnits(ex).find((u) => u.code === Number(target.dataset.code));
        if (unit) return showTip([unit], x, y);
      }
    }
    if (filter.hideAll || (ev.buttons & 1) === 1) return hideTip();
    const units = excerptsAtPoint(x, y).flatMap(visibleUnits);
    if (units.length) showTip(units, x, y);
    else hideTip();
  });
});
docEl.addEventListener("mouseleave", hideTip);
docEl.addEventListener("scroll", hideTip, { passive: true });

let defTimer = 0;
codeList.addEventListener("mouseover", (ev) => {
  const li = ev.target.closest(".ws-code");
  clearTimeout(defTimer);
  if (!li) return hideTip();
  const { clientX: x, clientY: y } = ev;
  defTimer = setTimeout(() => {
    const c = codes.get(Number(li.dataset.code));
    if (!c) return;
    const parts = [li.dataset.def, li.dataset.incl, li.dataset.excl].filter(Boolean);
    showText(c.name, parts.join("\n\n"), x, y);
  }, 350);
});
codeList.addEventListener("mouseleave", () => {
  clearTimeout(defTimer);
  hideTip();
});

// --- mouse: select to code, click to inspect --------------------------------------------------

docEl.addEventListener("click", (ev) => {
  const stripe = ev.target.closest(".stripe");
  if (stripe) {
    openInspector(Number(stripe.dataset.ex));
  }
});

let keyCount = 0; // a key pressed after a mouseup wins over what the mouseup would do

docEl.addEventListener("mouseup", (ev) => {
  if (ev.button !== 0 || ev.target.closest(".stripe")) return;
  const { clientX: x, clientY: y } = ev;
  const keysBefore = keyCount;
  // The browser settles the selection after mouseup; read it on the next task.
  setTimeout(() => {
    if (keyCount !== keysBefore) return;
    const raw = idx.selection();
    if (!raw) {
      const here = excerptsAtPoint(x, y).filter((ex) => visibleUnits(ex).length);
      if (here.length) openInspector(here[0].id);
      return;
    }
    const span = idx.snapToWords(raw.start, raw.end);
    if (!span) return;
    if (span.start !== raw.start || span.end !== raw.end) selectSpan(span, { scroll: false });
    if (canWrite) openPicker(span);
  }, 0);
});

// --- keyboard -------------------------------------------------------------------------------

function cursor() {
  const span = currentSpan();
  if (span) return span.start;
  const c = idx.caret();
  return c === null ? idx.starts[0] : c;
}

function moveSentence(dir, extend) {
  const span = currentSpan();
  if (!sentences.length) return;
  if (extend && span) {
    const k = sentences.at(Math.max(span.start, span.end - 1));
    const next = Math.min(sentences.length - 1, Math.max(0, k + dir));
    const end = dir > 0 ? sentences.ends[next] : sentences.ends[Math.max(sentences.at(span.start), next)];
    if (end > span.start) selectSpan({ start: span.start, end });
    return;
  }
  let k;
  if (span) {
    k = dir > 0 ? sentences.at(span.end - 1) + 1 : sentences.at(span.start) - 1;
  } else {
    k = sentences.at(cursor());
  }
  k = Math.min(sentences.length - 1, Math.max(0, k));
  selectSpan(sentences.span(k));
}

function isTyping(target) {
  return target.closest && target.closest("input, textarea, select, [contenteditable], dialog");
}

document.addEventListener("keydown", (ev) => {
  keyCount += 1;
  if (isTyping(ev.target)) return;
  const inDoc = docEl.contains(document.activeElement) || document.activeElement === document.body;
  const key = ev.key;
  if ((ev.ctrlKey || ev.metaKey) && !ev.shiftKey && (key === "z" || key === "Z")) {
    if (canWrite && inDoc) {
      ev.preventDefault();
      undo();
    }
    return;
  }
  if (ev.ctrlKey || ev.metaKey) return;
  if (key === "Escape") {
    closePicker();
    if (currentSpan()) window.getSelection().removeAllRanges();
    else closeInspector();
    return;
  }
  if (key === "?") {
    ev.preventDefault();
    $("ws-help").showModal();
    return;
  }
  if (!inDoc) return;
  const span = currentSpan();
  if (key === "ArrowDown" || key === "ArrowUp") {
    if (ev.altKey) return;
    ev.preventDefault();
    moveSentence(key === "ArrowDown" ? 1 : -1, ev.shiftKey);
  } else if ((key === "ArrowRight" || key === "ArrowLeft") && ev.shiftKey && span) {
    ev.preventDefault();
    const dir = key === "ArrowRight" ? 1 : -1;
    if (ev.altKey) {
      const start = idx.stepWord(span.start, -dir, "start");
      if (start < span.end) selectSpan({ start, end: span.end });
    } else {
      const end = idx.stepWord(span.end, dir, "end");
      if (end > span.start) selectSpan({ start: span.start, end });
    }
  } else if ((key === "e" || key === "E") && span) {
    ev.preventDefault();
    const spans = key === "E" ? turns : sentences;
    if (spans.length) selectSpan(spans.extend(span.start, span.end));
  } else if ((key === "s" || key === "t") && canWrite) {
    ev.preventDefault();
    const spans = key === "s" ? sentences : turns;
    const at = cursor();
    let target = null;
    if (spans.length) target = spans.span(spans.at(at));
    else {
      const i = Math.max(0, idx.paraAt(at));
      target = { start: idx.starts[i], end: idx.ends[i] };
    }
    selectSpan(target);
    openPicker(target);
  } else if ((key === "Enter" || key === "c") && span && canWrite) {
    ev.preventDefault();
    openPicker(span);
  } else if (key === "v" && span && canWrite) {
    ev.preventDefault();
    codeInVivo(span);
  } else if (key === "u" && canWrite) {
    ev.preventDefault();
    undo();
  } else if (key === "h") {
    ev.preventDefault();
    const box = $("ws-hide");
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change"));
  } else if (/^[0-9]$/.test(key) && span && canWrite) {
    const code = [...codes.values()].find((c) => c.shortcut === key);
    if (code) {
      ev.preventDefault();
      applyCodes(span, [code.id]);
    }
  }
});

$("ws-help-btn").addEventListener("click", () => $("ws-help").showModal());

// --- links into the page, other scripts ------------------------------------------------------

/** Open at ?start=&end= (search hits, matrix drill-down, suggestions): the passage scrolls into
 * view and is marked; an excerpt with exactly that span opens in the inspector, otherwise a
 * researcher finds it selected, ready for a number key. */
function focusLinkedSpan() {
  if (!data.focus) return;
  const [start, end] = data.focus;
  const ex = [...excerpts.values()].find((e) => e.s === start && e.e === end);
  if (ex) {
    openInspector(ex.id, { scroll: true });
  } else {
    selectSpan({ start, end }, { scroll: false });
    const rect = idx.range(start, end).getBoundingClientRect();
    const box = docEl.getBoundingClientRect();
    docEl.scrollBy({ top: rect.top - box.top - box.height / 3 });
    docEl.focus({ preventScroll: true });
  }
  if (useApi) {
    CSS.highlights.set("ws-focus", new Highlight(...idx.staticRanges(start, end)));
    setTimeout(() => CSS.highlights.delete("ws-focus"), 4000);
  }
}

/** Reload every excerpt row (after another script, such as the suggestions margin, coded). */
async function resync() {
  const d = await send("GET", data.urls.codings);
  if (!d) return;
  excerpts.clear();
  d.excerpts.forEach(putExcerpt);
  for (const [k, v] of Object.entries(d.coders || {})) coders.set(Number(k), v);
  setUndo(d.undo);
  rebuildParaIndex();
  recount();
  repaint();
}
$("ws").addEventListener("suggestions:accepted", resync);

// --- start ----------------------------------------------------------------------------------

writeHighlightRules();
rebuildParaIndex();
recount();
repaint();
focusLinkedSpan();
document.body.dataset.wsReady = "1";
performance.mark("ws-ready");

// For tests and the curious: what the page holds (read only).
window.wsDebug = {
  excerpts: () => [...excerpts.values()].map(({ id, s, e, codings }) => ({ id, s, e, codings })),
  isWord,
  idx,
};
