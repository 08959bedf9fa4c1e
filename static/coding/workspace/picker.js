// The code picker that opens at a selection: find a code by name or number, mark several,
// apply; or code in vivo. The in-vivo label is the name the server will give the code
// (coding:workspace-in-vivo-name, the one rule in services.in_vivo_name), fetched as the picker
// opens, never computed here.

import { applyCodes, codeInVivo, recentCodes } from "./coding.js";
import { showPending } from "./paint.js";
import { send } from "./status.js";
import {
  $,
  S,
  canWrite,
  codeOrder,
  codes,
  data,
  docEl,
  el,
  fmt,
  fold,
  idx,
  selectionRect,
  view,
} from "./state.js";

const picker = $("ws-picker");
const pickerSearch = $("ws-picker-search");
const pickerList = $("ws-picker-list");
const pickerApply = $("ws-picker-apply");
const pickerInVivo = $("ws-picker-invivo");
const pick = { span: null, marked: new Set(), rows: [], active: 0 };

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

let nameAsked = 0; // answers to an older opening of the picker are dropped
/** Ask the server for the in-vivo name of `span` and show it on the in-vivo button. */
async function showInVivoName(span) {
  const asked = ++nameAsked;
  pickerInVivo.textContent = fmt(S.inVivo, { name: "…" });
  delete pickerInVivo.dataset.name;
  const q = new URLSearchParams({ start: span.start, end: span.end });
  const d = await send("GET", `${data.urls.inVivoName}?${q}`, null, { quiet: true });
  if (asked !== nameAsked || !d) return;
  pickerInVivo.textContent = fmt(S.inVivo, { name: d.name });
  pickerInVivo.dataset.name = d.name;
}

/** The span the open picker codes, or null when it is closed. */
export function pickedSpan() {
  return picker.hidden ? null : pick.span;
}

export function openPicker(span) {
  if (!canWrite || !span) return;
  pick.span = span;
  view.lastSelected = span;
  showPending(span);
  pick.marked = new Set();
  pick.active = 0;
  pickerSearch.value = "";
  showInVivoName(span);
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

export function closePicker() {
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
