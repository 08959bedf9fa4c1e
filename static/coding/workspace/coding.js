// Coding: applying codes and in-vivo codes, undo, and folding the server's answers (small
// deltas: the excerpts touched, counts, the next undo) into the page's state.

import { closeInspector, openInspector } from "./inspector.js";
import { flash, repaint, writeHighlightRules } from "./paint.js";
import { addCodeToPanel, recount, setProjectCounts } from "./panel.js";
import { closePicker } from "./picker.js";
import { send, setStatus, toast } from "./status.js";
import {
  $,
  S,
  addCode,
  canWrite,
  codeList,
  coders,
  codes,
  data,
  dropCode,
  excerpts,
  putExcerpt,
  rebuildParaIndex,
  view,
} from "./state.js";

/** Fold a write's answer into the page: rows of the excerpts it touched, codes deleted, the
 * project counts and the next undo. */
export function applyDelta(d) {
  for (const id of d.removed || []) excerpts.delete(id);
  for (const row of d.excerpts || []) putExcerpt(row);
  for (const [k, v] of Object.entries(d.coders || {})) coders.set(Number(k), v);
  for (const id of d.deletedCodes || []) removeCode(id);
  setProjectCounts(d.counts);
  setUndo(d.undo);
  rebuildParaIndex();
  recount();
  if (view.activeExcerpt && !excerpts.has(view.activeExcerpt)) closeInspector();
  repaint();
}

function removeCode(id) {
  dropCode(id);
  codeList.querySelector(`[data-code="${id}"]`)?.remove();
}

// --- undo -----------------------------------------------------------------------------------

const undoBtn = $("ws-undo");
export function setUndo(label) {
  if (!undoBtn) return;
  undoBtn.disabled = !label;
  undoBtn.title = label || S.nothingToUndo;
  undoBtn.dataset.label = label || "";
}

export async function undo() {
  if (!canWrite) return;
  const d = await send("POST", data.urls.undo);
  if (!d) return;
  applyDelta(d);
  toast(d.message || S.nothingToUndo, "ok");
  if (view.activeExcerpt && excerpts.has(view.activeExcerpt)) openInspector(view.activeExcerpt);
}
undoBtn?.addEventListener("click", undo);

// --- coding ---------------------------------------------------------------------------------

const recentKey = `ws-recent-${data.project}`;
export function recentCodes() {
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

export async function applyCodes(span, ids) {
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

export async function codeInVivo(span) {
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

/** Reload every excerpt row (after another script, such as the suggestions margin, coded). */
export async function resync() {
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
