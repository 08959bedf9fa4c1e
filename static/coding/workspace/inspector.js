// The passage inspector: the open excerpt's text, its codes with their coders, boundaries to
// move word by word, and the memos. Built from the excerpt's JSON with textContent only; the
// key-quote stars are a server-rendered fragment that keyquotes.js puts in place.

import { applyDelta } from "./coding.js";
import { repaint } from "./paint.js";
import { openPicker } from "./picker.js";
import { send, setStatus, toast } from "./status.js";
import {
  $,
  S,
  canWrite,
  codes,
  currentSpan,
  data,
  el,
  excerpts,
  fmt,
  idx,
  scrollToSpan,
  selectSpan,
  sentences,
  turns,
  url,
  view,
} from "./state.js";


const inspector = $("ws-inspector-body");
const inspectorEmpty = $("ws-inspector-empty");
let inspected = null; // the excerpt detail shown

export function closeInspector() {
  view.activeExcerpt = null;
  inspected = null;
  inspector.hidden = true;
  inspectorEmpty.hidden = false;
  repaint();
}

export async function openInspector(excerptId, { scroll = false } = {}) {
  const d = await send("GET", url("excerpt", excerptId));
  if (!d) return;
  view.activeExcerpt = d.id;
  inspected = d;
  renderInspector();
  repaint();
  if (scroll) {
    const ex = excerpts.get(d.id);
    if (ex) scrollToSpan(ex.s, ex.e);
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
        const span = currentSpan() || view.lastSelected;
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
    memoLinks(art, m);
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
    if (mine) memoLinks(memos, mine);
  } else if (mine) {
    const art = el("article", "ws-memo");
    art.append(el("p", "ws-memo-text", mine.text));
    memoLinks(art, mine);
    memos.append(art);
  }
  inspector.append(memos);
  if (d.linkedFrom && d.linkedFrom.length) {
    const box = el("div", "ws-linked-here");
    box.append(el("h3", null, S.linkedHere));
    const list = el("ul", "ws-memo-links");
    for (const m of d.linkedFrom) {
      const li = el("li");
      li.dataset.memo = m.id;
      const a = el("a", null, m.text);
      a.href = m.url;
      li.append(a, el("span", "ws-memo-by", ` · ${m.authorName}`));
      list.append(li);
    }
    box.append(list);
    inspector.append(box);
  }
  // Key quotes are a server-rendered fragment; keyquotes.js puts it in place.
  inspector.dispatchEvent(new CustomEvent("ws:inspector", { detail: { excerpt: d.id } }));
}

/** A memo's "see also" links, and for one the user may link, the way to add a passage. */
function memoLinks(parent, m) {
  if (m.links && m.links.length) {
    const p = el("p", "ws-memo-links");
    p.append(el("span", "ws-memo-by", `${S.seeAlso}: `));
    m.links.forEach((l, i) => {
      if (i) p.append(document.createTextNode(" · "));
      const a = el("a", "ws-memo-link", l.label);
      a.href = l.url;
      p.append(a);
    });
    parent.append(p);
  }
  if (m.linkUrl) {
    const a = el("a", "ws-memo-link-add", S.linkPassage);
    a.href = m.linkUrl;
    a.dataset.memo = m.id;
    parent.append(a);
  }
}

async function removeCoding(codingId) {
  const d = await send("POST", url("uncode", codingId));
  if (!d) return;
  applyDelta(d);
  setStatus(S.removed, "ok");
  if (view.activeExcerpt && excerpts.has(view.activeExcerpt)) openInspector(view.activeExcerpt);
}

async function resize(excerptId, span) {
  if (!span || span.end <= span.start) return;
  view.lastSelected = null;
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
