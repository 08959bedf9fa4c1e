// Coding suggestions as quiet marks in the margin of a transcript.
//
// Self-contained: put this module on a page with one element carrying data-transcript-id (and,
// optionally, data-suggestions-url; by default /transcripts/<id>/suggestions/). The script loads
// its stylesheet (suggestions.css beside this file), fetches the suggestions the researcher has
// not answered, and draws one mark beside each block where suggested passages begin. A mark
// opens a small panel: Accept (the passage becomes the researcher's coding), Reject (not shown to
// them again), or Close (ignore it for now). Nothing is ever coded without a click.
//
// A page may offer a [data-suggestions-bar] element for the count and the show/hide switch (the
// transcript view does, above the text, so the bar never covers it); without one the bar floats
// in the lower right corner. Either way it folds down to its count.
//
// Where a passage begins is found, in this order, by: `.t[data-o]` elements (UTF-16 offset of
// their first character, as the coding view renders paragraphs), `[data-start]` elements (code
// point offsets), `[id^="pos-"]` anchors. After an accept the container receives a
// "suggestions:accepted" event (detail: the server's answer: coding, excerpt, start, end, code)
// so the page can redraw its codings. Transcript text is only ever set with textContent.
// Loaded as a module; it talks to the server through net.js.
import { request } from "./net.js";

(function () {
  const root = document.querySelector("[data-transcript-id]");
  if (!root) return;

  const url =
    root.dataset.suggestionsUrl ||
    `/transcripts/${encodeURIComponent(root.dataset.transcriptId)}/suggestions/`;

  {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = import.meta.url.replace(/\.js(\?.*)?$/, ".css$1");
    document.head.appendChild(link);
  }

  const JSON_ONLY = { Accept: "application/json" };
  let data = null;
  let layer = null;
  let pane = null;
  let bar = null;
  let pop = null;
  let hidden = false;
  // Folded, the bar is one small button with the count; remembered across pages.
  const FOLD_KEY = "sg-bar-folded";
  let folded = false;
  try {
    folded = localStorage.getItem(FOLD_KEY) === "1";
  } catch (e) {
    folded = false;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function label(key, n) {
    const labels = (data && data.labels) || {};
    let s = labels[key] || key;
    if (n !== undefined) {
      s = (n === 1 ? labels[key + "_one"] : labels[key + "_other"]) || s;
      s = s.replace("%(n)s", String(n));
    }
    return s;
  }

  // --- where passages begin ---------------------------------------------------------------

  function anchorIndex() {
    const paras = Array.from(root.querySelectorAll(".t[data-o]"));
    if (paras.length) {
      return {
        unit: "start16",
        items: paras
          .map((t) => ({ at: Number(t.dataset.o), el: t.closest("p, li, div, section") || t }))
          .sort((a, b) => a.at - b.at),
      };
    }
    let nodes = Array.from(root.querySelectorAll("[data-start]"));
    let at = (n) => Number(n.dataset.start);
    if (!nodes.length) {
      nodes = Array.from(root.querySelectorAll('[id^="pos-"]'));
      at = (n) => Number(n.id.slice(4));
    }
    return {
      unit: "start",
      items: nodes
        .map((n) => ({ at: at(n), el: n }))
        .filter((x) => Number.isFinite(x.at))
        .sort((a, b) => a.at - b.at),
    };
  }

  function anchorFor(index, offset) {
    let lo = 0;
    let hi = index.items.length - 1;
    let found = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (index.items[mid].at <= offset) {
        found = index.items[mid].el;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found || root;
  }

  // --- drawing ----------------------------------------------------------------------------

  function groups() {
    const index = anchorIndex();
    const byAnchor = new Map();
    for (const s of data.suggestions) {
      const anchor = anchorFor(index, s[index.unit]);
      if (!byAnchor.has(anchor)) byAnchor.set(anchor, []);
      byAnchor.get(anchor).push(s);
    }
    return byAnchor;
  }

  // The bar goes into the page's [data-suggestions-bar] slot, or floats in a corner: it never
  // takes a place in the page's own layout.
  function barSlot() {
    const slot = document.querySelector("[data-suggestions-bar]");
    if (slot) return { parent: slot, floating: false };
    return { parent: document.body, floating: true };
  }

  function drawBar() {
    if (!bar) {
      const slot = barSlot();
      bar = el("div", slot.floating ? "sg-bar sg-floating" : "sg-bar");
      bar.setAttribute("role", "status");
      slot.parent.appendChild(bar);
    }
    bar.replaceChildren();
    bar.classList.toggle("sg-folded", folded);
    const n = data.suggestions.length;
    const fold = el("button", "sg-fold", folded ? "▸" : "▾");
    fold.type = "button";
    fold.setAttribute("aria-expanded", folded ? "false" : "true");
    fold.title = folded ? label("unfold") : label("fold");
    fold.setAttribute("aria-label", fold.title);
    fold.addEventListener("click", () => {
      folded = !folded;
      try {
        localStorage.setItem(FOLD_KEY, folded ? "1" : "0");
      } catch (e) {
        /* private mode: folded for this page only */
      }
      drawBar();
    });
    bar.appendChild(fold);
    bar.appendChild(el("strong", "sg-count", label("count", n)));
    if (folded) return;
    if (data.status) bar.appendChild(el("span", "sg-note", data.status));
    if (n) {
      const toggle = el("button", "sg-toggle", hidden ? label("show") : label("hide"));
      toggle.type = "button";
      toggle.setAttribute("aria-pressed", hidden ? "true" : "false");
      toggle.addEventListener("click", () => {
        hidden = !hidden;
        closePop();
        draw();
      });
      bar.appendChild(toggle);
    }
    if (data.overview_url) {
      const a = el("a", "sg-overview", label("overview"));
      a.href = data.overview_url;
      bar.appendChild(a);
    }
  }

  // Marks live in the element that scrolls the text (or the container itself), so they move
  // with the text; they are positioned absolutely and never enter the page's layout.
  function scrollPane(from) {
    for (let node = from; node && node !== document.body; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (/(auto|scroll)/.test(style.overflowY) && node.scrollHeight > node.clientHeight) {
        return node;
      }
      if (node === root) break;
    }
    return root;
  }

  function drawMarks() {
    const byAnchor = groups();
    if (!layer) {
      const first = byAnchor.keys().next().value || root;
      pane = scrollPane(first);
      if (getComputedStyle(pane).position === "static") pane.classList.add("sg-host");
      layer = el("div", "sg-layer");
      layer.setAttribute("aria-label", label("layer"));
      Object.assign(layer.style, { position: "absolute", top: "0", right: "0", height: "0" });
      pane.appendChild(layer);
      // Blocks rendered lazily (content-visibility) get their real height only when scrolled
      // into view: place the marks again as the text scrolls or changes size.
      pane.addEventListener("scroll", placeSoon, { passive: true });
      if ("ResizeObserver" in window) new ResizeObserver(placeSoon).observe(pane);
    }
    layer.replaceChildren();
    marks = [];
    if (hidden) return;
    for (const [anchor, items] of byAnchor) {
      const mark = el("button", "sg-mark");
      mark.type = "button";
      mark.style.position = "absolute";
      mark.setAttribute("aria-haspopup", "dialog");
      mark.setAttribute(
        "aria-label",
        `${label("count", items.length)}: ${items.map((s) => s.code.name).join(", ")}`,
      );
      mark.title = items.map((s) => s.code.name).join(", ");
      for (const s of items.slice(0, 4)) {
        const dot = el("span", "sg-dot");
        dot.style.background = s.code.color;
        mark.appendChild(dot);
      }
      if (items.length > 4) mark.appendChild(el("span", "sg-more", `+${items.length - 4}`));
      mark.addEventListener("mouseenter", () => anchor.classList.add("sg-target"));
      mark.addEventListener("mouseleave", () => anchor.classList.remove("sg-target"));
      mark.addEventListener("click", (event) => {
        event.stopPropagation(); // the page's own click handlers need not see it
        openPop(mark, anchor, items);
      });
      layer.appendChild(mark);
      marks.push({ mark, anchor });
    }
    placeMarks();
  }

  let marks = [];
  function placeMarks() {
    if (!pane) return;
    const paneTop = pane.getBoundingClientRect().top - pane.scrollTop;
    for (const { mark, anchor } of marks) {
      mark.style.top = `${anchor.getBoundingClientRect().top - paneTop}px`;
    }
    placePop();
  }

  let placing = 0;
  function placeSoon() {
    cancelAnimationFrame(placing);
    placing = requestAnimationFrame(placeMarks);
  }

  function draw() {
    drawBar();
    drawMarks();
  }

  // --- the panel --------------------------------------------------------------------------

  function closePop() {
    if (pop) {
      pop.remove();
      pop = null;
      popMark = null;
      popAnchor = null;
    }
    root.querySelectorAll(".sg-target").forEach((n) => n.classList.remove("sg-target"));
  }

  function openPop(mark, anchor, items) {
    closePop();
    anchor.classList.add("sg-target");
    pop = el("div", "sg-pop");
    pop.setAttribute("role", "dialog");
    pop.setAttribute("aria-label", label("count", items.length));
    const head = el("div", "sg-pop-head");
    head.appendChild(el("strong", null, label("count", items.length)));
    const close = el("button", "sg-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", label("close"));
    close.addEventListener("click", () => {
      closePop();
      mark.focus();
    });
    head.appendChild(close);
    pop.appendChild(head);
    for (const s of items) pop.appendChild(item(s));
    document.body.appendChild(pop);
    pop.addEventListener("click", (event) => event.stopPropagation());
    popMark = mark;
    popAnchor = anchor;
    placePop();
    const first = pop.querySelector(".sg-accept, .sg-reject, .sg-close");
    if (first) first.focus({ preventScroll: true });
  }

  // Fixed to the viewport beside its mark (the text may scroll inside its own pane); it follows
  // the mark when the text scrolls and closes when the mark leaves the view.
  let popMark = null;
  let popAnchor = null;
  function placePop() {
    // A mark redrawn after a decision is another element: follow it; the panel of a block with
    // nothing left to decide stays where it is until it is closed.
    if (pop && popMark && !popMark.isConnected) {
      const again = marks.find((m) => m.anchor === popAnchor);
      popMark = again ? again.mark : null;
    }
    if (!pop || !popMark) return;
    const box = popMark.getBoundingClientRect();
    if (box.bottom < 0 || box.top > window.innerHeight) {
      closePop();
      return;
    }
    const width = Math.min(380, window.innerWidth - 16);
    pop.style.width = `${width}px`;
    pop.style.left = `${Math.max(8, Math.min(box.right - width, window.innerWidth - width - 8))}px`;
    const below = box.bottom + 4;
    const height = pop.getBoundingClientRect().height;
    const top = below + height > window.innerHeight ? box.top - height - 4 : below;
    pop.style.top = `${Math.max(8, top)}px`;
  }

  function item(s) {
    const li = el("div", "sg-item");
    li.dataset.suggestion = String(s.id);
    const title = el("div", "sg-code");
    const chip = el("span", "sg-chip");
    chip.style.background = s.code.color;
    title.appendChild(chip);
    title.appendChild(el("span", null, s.code.name));
    li.appendChild(title);
    if (s.why) li.appendChild(el("div", "sg-why", s.why));
    li.appendChild(snippet(s));
    if (s.keywords && s.keywords.length && data.can_write) li.appendChild(keywordChips(s));
    const actions = el("div", "sg-actions");
    if (data.can_write) {
      const accept = el("button", "sg-accept", label("accept"));
      accept.type = "button";
      accept.addEventListener("click", () => decide(s, "accept", accept));
      const reject = el("button", "sg-reject", label("reject"));
      reject.type = "button";
      reject.addEventListener("click", () => decide(s, "reject", reject));
      actions.append(accept, reject);
    } else {
      actions.appendChild(el("span", "sg-readonly", label("read_only")));
    }
    if (s.open_url && !root.querySelector(".t[data-o]")) {
      const open = el("a", "sg-open", label("open"));
      open.href = s.open_url;
      actions.appendChild(open);
    }
    li.appendChild(actions);
    li.appendChild(el("div", "sg-error"));
    return li;
  }

  // The passage with the keyword hits marked; every part is set as text, never as HTML.
  function snippet(s) {
    const quote = el("blockquote", "sg-snippet");
    const parts = s.snippet_parts && s.snippet_parts.length ? s.snippet_parts : [{ text: s.snippet }];
    for (const part of parts) {
      quote.appendChild(part.hit ? el("mark", "sg-hit", part.text) : document.createTextNode(part.text));
    }
    return quote;
  }

  // A writer takes a keyword that made the suggestion off the code, from the card.
  function keywordChips(s) {
    const box = el("div", "sg-keywords");
    for (const kw of s.keywords) {
      const button = el("button", "sg-kw-remove", `${kw} ×`);
      button.type = "button";
      button.title = label("remove_keyword").replace("%(kw)s", kw);
      button.setAttribute("aria-label", button.title);
      button.addEventListener("click", () => removeKeyword(s, kw, button));
      box.appendChild(button);
    }
    return box;
  }

  async function removeKeyword(s, kw, button) {
    const row = button.closest(".sg-item");
    button.disabled = true;
    try {
      const response = await request("POST", s.keyword_remove_url, { keyword: kw }, JSON_ONLY);
      const answer = await response.json().catch(() => ({}));
      if (!response.ok || !answer.ok) throw new Error(answer.error || response.statusText);
      for (const x of data.suggestions) {
        if (x.code.id === s.code.id) x.keywords = x.keywords.filter((k) => k !== kw);
      }
      button.replaceWith(el("span", "sg-kw-removed", label("keyword_removed")));
    } catch (err) {
      row.querySelector(".sg-error").textContent = `${label("error")} ${err.message || ""}`;
      button.disabled = false;
    }
  }

  async function decide(s, verdict, button) {
    const row = button.closest(".sg-item");
    row.querySelectorAll("button").forEach((b) => {
      b.disabled = true;
    });
    try {
      const target = verdict === "accept" ? s.accept_url : s.reject_url;
      const response = await request("POST", target, null, JSON_ONLY);
      const answer = await response.json().catch(() => ({}));
      if (!response.ok || !answer.ok) throw new Error(answer.error || response.statusText);
      data.suggestions = data.suggestions.filter((x) => x.id !== s.id);
      if (verdict === "accept") {
        root.dispatchEvent(
          new CustomEvent("suggestions:accepted", { bubbles: true, detail: answer }),
        );
      }
      row.replaceChildren(el("div", "sg-done", label(verdict === "accept" ? "accepted" : "rejected")));
      draw();
    } catch (err) {
      row.querySelector(".sg-error").textContent = `${label("error")} ${err.message || ""}`;
      row.querySelectorAll("button").forEach((b) => {
        b.disabled = false;
      });
    }
  }

  document.addEventListener(
    "scroll",
    (event) => {
      if (pop && !pop.contains(event.target)) placePop();
    },
    true,
  );

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && pop) closePop();
  });
  document.addEventListener("click", (event) => {
    if (pop && !pop.contains(event.target) && !event.target.closest(".sg-mark")) closePop();
  });

  window.addEventListener("resize", placeSoon);
  if ("ResizeObserver" in window) new ResizeObserver(placeSoon).observe(root);

  request("GET", url, null, JSON_ONLY)
    .then((r) => {
      if (!r.ok) throw new Error(r.statusText);
      return r.json();
    })
    .then((json) => {
      data = json;
      draw();
    })
    .catch(() => {
      const message = root.dataset.suggestionsError || "Suggestions could not be loaded.";
      const slot = barSlot();
      bar = el("div", `sg-bar sg-failed${slot.floating ? " sg-floating" : ""}`, message);
      slot.parent.appendChild(bar);
    });
})();
