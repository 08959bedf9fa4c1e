// The mouse and the keyboard over the text: select to code, click to inspect, sentence and
// word steps, shortcuts for coding, in vivo, undo and hiding; "?" for the list of keys.

import { applyCodes, codeInVivo, undo } from "./coding.js";
import { excerptsAtPoint } from "./hover.js";
import { closeInspector, openInspector } from "./inspector.js";
import { closePicker, openPicker } from "./picker.js";
import {
  $,
  canWrite,
  codes,
  currentSpan,
  docEl,
  idx,
  selectSpan,
  sentences,
  turns,
  visibleUnits,
} from "./state.js";


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
