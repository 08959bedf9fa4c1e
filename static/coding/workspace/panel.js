// The codebook panel beside the text: counts here and in the project, the code filters and
// "find a code", coding from the panel (click a code's name or drop the dragged selection on
// it), jumping through a code's passages, the coder filter and "hide all coding".

import { applyCodes } from "./coding.js";
import { openInspector } from "./inspector.js";
import { repaint } from "./paint.js";
import { pickedSpan } from "./picker.js";
import {
  $,
  S,
  canWrite,
  codeList,
  coders,
  codes,
  currentSpan,
  data,
  docEl,
  el,
  excerpts,
  filter,
  fmt,
  fold,
} from "./state.js";


export function recount() {
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

export function setProjectCounts(counts) {
  for (const [code, n] of Object.entries(counts || {})) {
    const cell = codeList.querySelector(`[data-n-all="${Number(code)}"]`);
    if (cell) cell.textContent = String(n);
  }
}

export function addCodeToPanel(code) {
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
  codebookSpan = currentSpan() || pickedSpan();
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

