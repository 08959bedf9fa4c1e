// The transcript view: highlights, coding stripes, hover cards, the code picker, the passage
// inspector, keyboard coding and undo. The server rendered the text once; these modules lay the
// codings over it and keep them in step with small JSON deltas from the write endpoints.
//
//   state.js      the payload, codes, excerpts, filters, the selection   (no imports but offsets)
//   paint.js      highlights (CSS Custom Highlight API or DOM spans) and margin stripes
//   panel.js      the codebook panel: counts, filters, coding from the panel, coder filter
//   coding.js     apply / in vivo / undo and the deltas they answer with
//   picker.js     the code picker (its in-vivo label is the server's name)
//   inspector.js  the open passage: codes, boundaries, memos
//   hover.js      hover cards
//   keys.js       mouse and keyboard over the text
//   status.js     status line, toasts, and calls through ../net.js
//
// Modules import each other's functions only; nothing runs at import time but event listeners
// on elements of the page, so the start below is the one place where the page comes alive.

import { isWord } from "../offsets.js";
import { resync, setUndo } from "./coding.js";
import "./hover.js";
import { openInspector } from "./inspector.js";
import "./keys.js";
import { repaint, showFocus, watchSections, writeHighlightRules } from "./paint.js";
import { recount } from "./panel.js";
import {
  $,
  data,
  docEl,
  excerpts,
  idx,
  rebuildParaIndex,
  scrollToSpan,
  selectSpan,
  useApi,
} from "./state.js";

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
    scrollToSpan(start, end);
    docEl.focus({ preventScroll: true });
  }
  showFocus(start, end);
}

$("ws").addEventListener("suggestions:accepted", resync);

document.body.dataset.highlight = useApi ? "api" : "dom";
setUndo(data.undo);
watchSections();
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
