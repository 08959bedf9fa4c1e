// Hover cards: over coded text (or a stripe), the codes there with their coders and the
// passage's first memo; over a code in the codebook panel, its definition.

import {
  $,
  S,
  codeList,
  coders,
  codes,
  data,
  docEl,
  el,
  excerpts,
  excerptsAt,
  filter,
  fmt,
  idx,
  visibleUnits,
} from "./state.js";


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
export function excerptsAtPoint(x, y) {
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

