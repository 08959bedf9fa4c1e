// The framework matrix written in the grid. Arrow keys move between cells, Enter writes in
// the cell, Escape leaves the text for the cell again (Alt+arrow moves on from inside a
// text). The side panel follows the selected cell: its fragment comes from the server
// (coding:analysis-framework-panel). Saving is htmx's (see _fw_editor.html).
const grid = document.querySelector("[data-fw-grid]");
const panel = document.getElementById("fw-panel");

function rows() {
  return [...grid.querySelectorAll("[data-fw-row]")].map((tr) => [...tr.querySelectorAll("[data-fw-cell]")]);
}

function position(cell) {
  const all = rows();
  for (let r = 0; r < all.length; r++) {
    const c = all[r].indexOf(cell);
    if (c >= 0) return { all, r, c };
  }
  return null;
}

function move(cell, dr, dc) {
  const pos = position(cell);
  if (!pos) return;
  const r = Math.max(0, Math.min(pos.all.length - 1, pos.r + dr));
  const row = pos.all[r];
  const target = row[Math.max(0, Math.min(row.length - 1, pos.c + dc))];
  if (target) target.focus();
}

let shown = null;
function follow(cell) {
  if (!panel || cell === shown || !window.htmx) return;
  shown = cell;
  const q = new URLSearchParams({ case: cell.dataset.case, code: cell.dataset.code });
  window.htmx.ajax("GET", `${grid.dataset.panelUrl}&${q}`, { target: "#fw-panel", swap: "innerHTML" });
}

const KEYS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

if (grid) {
  const first = grid.querySelector("[data-fw-cell]");
  if (first) first.tabIndex = 0; // one tab stop into the grid; arrows do the rest
  grid.addEventListener("focusin", (ev) => {
    const cell = ev.target.closest("[data-fw-cell]");
    if (!cell) return;
    for (const c of grid.querySelectorAll("[data-fw-cell].selected")) c.classList.remove("selected");
    cell.classList.add("selected");
    follow(cell);
  });
  grid.addEventListener("keydown", (ev) => {
    const cell = ev.target.closest("[data-fw-cell]");
    if (!cell) return;
    const inText = ev.target.matches("textarea");
    if (inText) {
      if (ev.key === "Escape") {
        ev.preventDefault();
        cell.focus();
      } else if (ev.altKey && KEYS[ev.key]) {
        ev.preventDefault();
        move(cell, ...KEYS[ev.key]);
      }
      return;
    }
    if (ev.target !== cell) return;
    if (KEYS[ev.key]) {
      ev.preventDefault();
      move(cell, ...KEYS[ev.key]);
    } else if (ev.key === "Enter" || ev.key === "F2") {
      const text = cell.querySelector("textarea");
      if (text) {
        ev.preventDefault();
        text.focus();
        text.setSelectionRange(text.value.length, text.value.length);
      }
    }
  });
}
