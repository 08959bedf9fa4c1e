// Painting the codings over the text: the CSS Custom Highlight API where the browser has it
// (no DOM changes, so 5,000 codings over 200,000 words cost a few milliseconds), otherwise
// per-paragraph <span> layers painted only for the turns on screen (`?highlight=dom` forces
// them); and the coding stripes in each turn's margin. Transcript text only ever enters the DOM
// through textContent.

import {
  byPara,
  codes,
  docEl,
  el,
  excerpts,
  filter,
  idx,
  useApi,
  view,
  visibleUnits,
} from "./state.js";

// --- highlight colours ----------------------------------------------------------------------

export function rgba(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255} ${(n >> 8) & 255} ${n & 255} / ${alpha})`;
}

const sheet = new CSSStyleSheet();
document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
export function writeHighlightRules() {
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
  if (view.activeExcerpt && excerpts.has(view.activeExcerpt)) {
    const ex = excerpts.get(view.activeExcerpt);
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
    if (on.some((l) => l.u.ex.id === view.activeExcerpt)) span.classList.add("is-active");
    frag.append(span);
  }
  target.replaceChildren(frag);
}

/** Coding stripes in the right margin of one turn: one stripe per code and passage, in lanes
 * so that overlapping passages sit side by side. */
function paintStripes(section) {
  // The page sends no empty box per turn (transcript_page.render_document): made once here.
  let box = section.querySelector(":scope > .stripes");
  if (!box) {
    box = el("div", "stripes");
    box.setAttribute("aria-hidden", "true");
    section.append(box);
  }
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
    if (u.ex.id === view.activeExcerpt) st.classList.add("is-active");
    box.append(st);
  }
}

function paintSection(section) {
  if (painted.get(section) === view.version) return;
  painted.set(section, view.version);
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
/** Paint again after the codings or the filters changed (the sections on screen on the next
 * frame, the others when they scroll into view). */
export function repaint() {
  view.version += 1;
  if (useApi) paintHighlightsApi();
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    onScreen.forEach(paintSection);
  });
}

/** Paint the turns as they come into view, and again when the text's width changes. */
export function watchSections() {
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
    view.version += 1;
    onScreen.forEach(paintSection);
  }).observe(docEl);
}

/** A short flash over a passage just coded. */
export function flash(excerptId) {
  const ex = excerpts.get(excerptId);
  if (!ex || !useApi) return;
  const h = new Highlight(...(ex.ranges || idx.staticRanges(ex.s, ex.e)));
  h.priority = 99;
  CSS.highlights.set("ws-flash", h);
  setTimeout(() => CSS.highlights.delete("ws-flash"), 700);
}

/** While the picker has the focus the browser drops the text selection; this keeps it shown. */
export function showPending(span) {
  if (!useApi) return;
  if (span) CSS.highlights.set("ws-pending", new Highlight(...idx.staticRanges(span.start, span.end)));
  else CSS.highlights.delete("ws-pending");
}

/** Mark a linked passage for a few seconds. */
export function showFocus(start, end) {
  if (!useApi) return;
  CSS.highlights.set("ws-focus", new Highlight(...idx.staticRanges(start, end)));
  setTimeout(() => CSS.highlights.delete("ws-focus"), 4000);
}
