// The comparison view: step from one disagreement to the next with the keyboard, and turn a
// text selection in a lane into the offsets of a new consensus passage.
// j / n: next, k / p: previous, u: the next one not settled in the consensus. The server marks
// which passages disagree (data-disagreement) and which are settled (data-settled); a decision
// posted with htmx swaps its passage in place, so the stops are read afresh each time.
(() => {
  const position = document.getElementById("compare-position");
  let currentId = null;

  const stops = () => [...document.querySelectorAll(".passage[data-disagreement]")];

  function go(el) {
    const all = stops();
    if (!el) return;
    currentId = el.id;
    all.forEach((s) => s.classList.toggle("current", s === el));
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "center" });
    position.textContent = `${all.indexOf(el) + 1} / ${all.length}`;
  }

  function step(delta, onlyUnsettled) {
    const all = stops();
    if (!all.length) return;
    const at = all.findIndex((s) => s.id === currentId);
    for (let n = 1; n <= all.length; n++) {
      const i = (((at === -1 && delta > 0 ? -1 : at) + delta * n) % all.length + all.length) % all.length;
      if (!onlyUnsettled || !all[i].hasAttribute("data-settled")) return go(all[i]);
    }
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.target.closest("input, textarea, select, [contenteditable]")) return;
    if (ev.key === "j" || ev.key === "n") {
      ev.preventDefault();
      step(1, false);
    } else if (ev.key === "k" || ev.key === "p") {
      ev.preventDefault();
      step(-1, false);
    } else if (ev.key === "u") {
      ev.preventDefault();
      step(1, true);
    }
  });

  // After htmx swapped a settled passage in, keep it current (and focused) for the keyboard.
  document.body.addEventListener("htmx:afterSwap", (ev) => {
    const el = ev.detail.target && document.getElementById(ev.detail.target.id);
    if (el && el.id === currentId) go(el);
  });

  // A selection inside one passage's lanes fills that passage's "new passage" offsets. Offsets
  // are code points (the server's unit): each piece carries its start (data-s), and the
  // selection's UTF-16 offset inside the piece's text is counted in code points here.
  function offsetOf(node, u16) {
    const piece = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    const holder = piece && piece.closest("[data-s]");
    if (!holder) return null;
    const text = node.nodeType === Node.TEXT_NODE ? node.data : "";
    let skip = 0; // the ellipsis the page puts before or after the context
    if (holder.classList.contains("context") && text.startsWith("…") && holder === holder.parentElement.firstElementChild) skip = 1;
    return Number(holder.dataset.s) + Math.max(0, [...text.slice(0, u16)].length - skip);
  }

  document.addEventListener("mouseup", () => {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed || !sel.rangeCount) return;
    const range = sel.getRangeAt(0);
    const passage = range.startContainer.parentElement?.closest(".passage");
    if (!passage || passage !== range.endContainer.parentElement?.closest(".passage")) return;
    const form = passage.querySelector(".consensus-form");
    if (!form) return;
    const s = offsetOf(range.startContainer, range.startOffset);
    const e = offsetOf(range.endContainer, range.endOffset);
    if (s === null || e === null || e <= s) return;
    form.elements.span_start.value = s;
    form.elements.span_end.value = e;
  });
})();
