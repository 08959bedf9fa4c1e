// Positions in the transcript view <-> UTF-16 offsets into the transcript text.
//
// The wire unit between this page and the server is the UTF-16 code unit, the browser's own
// string unit: the server renders each paragraph's text in a `.t` element whose `data-o` is the
// UTF-16 offset of its first character, and converts posted offsets to Python code points in one
// place (coding/offsets.py). This module never converts units; it maps DOM points to offsets and
// back, and moves offsets over words, sentences and turns. Text between paragraphs ("\n\n") and
// speaker labels are not in the DOM: points there resolve to the nearest paragraph.

// The counted word of coding/nlp.py (WORD_CATEGORIES, WORD_EXTRA, JOINERS), applied here while
// dragging; tests/test_nlp.py keeps the two the same.
const WORD = /[\p{L}\p{M}\p{N}_]/u;
const SPACE = /\s/u;
const JOINERS = new Set(["-", "'", "’", "\u00ad"]);

export const isWord = (ch) => WORD.test(ch);
export const isSpace = (ch) => SPACE.test(ch);

function lastAtOrBefore(sorted, value) {
  // index of the last element <= value, or -1
  let lo = 0;
  let hi = sorted.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= value) {
      ans = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return ans;
}

export class TextIndex {
  constructor(root) {
    this.root = root;
    this.els = Array.from(root.querySelectorAll(".t"));
    this.starts = this.els.map((el) => Number(el.dataset.o));
    this.texts = this.els.map((el) => el.textContent);
    this.ends = this.starts.map((s, i) => s + this.texts[i].length);
  }

  get length() {
    return this.els.length;
  }

  /** Index of the paragraph that starts at or before `off` (-1 before the first). */
  paraAt(off) {
    return lastAtOrBefore(this.starts, off);
  }

  /** Index of the paragraph holding element `el` (a `.t` or inside one), or -1. */
  paraOfElement(el) {
    const t = el && el.closest ? el.closest(".t") : null;
    if (!t) return -1;
    const i = this.paraAt(Number(t.dataset.o));
    return this.els[i] === t ? i : -1;
  }

  /** The UTF-16 offset of DOM point (node, offset). `bias` says which way a point outside the
   * text goes: "start" to the next paragraph's start, "end" to the previous paragraph's end. */
  pointToOffset(node, offset, bias = "start") {
    const el = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    const t = el ? el.closest(".t") : null;
    if (t && this.root.contains(t)) {
      const r = document.createRange();
      r.setStart(t, 0);
      r.setEnd(node, offset);
      return Number(t.dataset.o) + r.toString().length;
    }
    // Outside any paragraph text: the first paragraph that starts after the point.
    const point = document.createRange();
    point.setStart(node, offset);
    let lo = 0;
    let hi = this.els.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (point.comparePoint(this.els[mid], 0) >= 0) hi = mid;
      else lo = mid + 1;
    }
    if (bias === "start") {
      return lo < this.els.length ? this.starts[lo] : this.ends[this.els.length - 1];
    }
    return lo > 0 ? this.ends[lo - 1] : this.starts[0];
  }

  /** The DOM point [textNode, offsetInNode] of `off`; offsets between paragraphs clamp to the
   * nearer paragraph in the direction of `bias`. */
  offsetToPoint(off, bias = "start") {
    let i = this.paraAt(off);
    if (i < 0) i = 0;
    let local = off - this.starts[i];
    if (off > this.ends[i]) {
      if (bias === "start" && i + 1 < this.els.length) {
        i += 1;
        local = 0;
      } else {
        local = this.texts[i].length;
      }
    }
    local = Math.max(0, local);
    const walker = document.createTreeWalker(this.els[i], NodeFilter.SHOW_TEXT);
    let node = walker.nextNode();
    let last = node;
    while (node) {
      const len = node.data.length;
      if (local <= len) return [node, local];
      local -= len;
      last = node;
      node = walker.nextNode();
    }
    return last ? [last, last.data.length] : [this.els[i], 0];
  }

  /** [start, end) cut into per-paragraph pieces: [{i, s, e}] with offsets local to each. */
  pieces(start, end) {
    const out = [];
    let i = Math.max(0, this.paraAt(start));
    for (; i < this.els.length && this.starts[i] < end; i++) {
      const s = Math.max(start, this.starts[i]) - this.starts[i];
      const e = Math.min(end, this.ends[i]) - this.starts[i];
      if (e > s) out.push({ i, s, e });
    }
    return out;
  }

  /** Static ranges for [start, end), one per paragraph piece (highlights skip the gaps). */
  staticRanges(start, end) {
    return this.pieces(start, end).map(({ i, s, e }) => {
      const [sn, so] = this.pointInPara(i, s);
      const [en, eo] = this.pointInPara(i, e);
      return new StaticRange({
        startContainer: sn,
        startOffset: so,
        endContainer: en,
        endOffset: eo,
      });
    });
  }

  pointInPara(i, local) {
    const el = this.els[i];
    if (el.childNodes.length === 1 && el.firstChild.nodeType === Node.TEXT_NODE) {
      return [el.firstChild, local];
    }
    return this.offsetToPoint(this.starts[i] + local);
  }

  /** A live Range over [start, end). */
  range(start, end) {
    const r = document.createRange();
    const [sn, so] = this.offsetToPoint(start, "start");
    const [en, eo] = this.offsetToPoint(end, "end");
    r.setStart(sn, so);
    r.setEnd(en, eo);
    return r;
  }

  /** The current selection as {start, end} in the text, or null. */
  selection() {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
    const r = sel.getRangeAt(0);
    if (!this.root.contains(r.commonAncestorContainer) && !r.intersectsNode(this.root)) {
      return null;
    }
    const start = this.pointToOffset(r.startContainer, r.startOffset, "start");
    const end = this.pointToOffset(r.endContainer, r.endOffset, "end");
    return end > start ? { start, end } : null;
  }

  /** Where the caret is (a click leaves a collapsed selection), or null. */
  caret() {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0) return null;
    const r = sel.getRangeAt(0);
    if (!this.root.contains(r.startContainer)) return null;
    return this.pointToOffset(r.startContainer, r.startOffset, "start");
  }

  select(start, end) {
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(this.range(start, end));
  }

  /** The text of [start, end), paragraphs joined by a blank line as in the stored text. */
  slice(start, end) {
    return this.pieces(start, end)
      .map(({ i, s, e }) => this.texts[i].slice(s, e))
      .join("\n\n");
  }

  /** The character after `off` (dir 1) or before it (dir -1), as {ch, next}; a paragraph gap
   * reads as one "\n" whose `next` is the neighbouring paragraph's edge. */
  char(off, dir) {
    if (dir > 0) {
      const i = this.paraAt(off);
      if (i >= 0 && off < this.ends[i]) {
        const l = off - this.starts[i];
        const cp = this.texts[i].codePointAt(l);
        const len = cp > 0xffff ? 2 : 1;
        return { ch: this.texts[i].slice(l, l + len), next: off + len };
      }
      if (i + 1 < this.els.length) return { ch: "\n", next: this.starts[i + 1] };
      return null;
    }
    const i = lastAtOrBefore(this.starts, off - 1);
    if (i < 0) return null;
    if (off <= this.ends[i]) {
      const t = this.texts[i];
      const l = off - this.starts[i];
      const c = t.charCodeAt(l - 1);
      const len = c >= 0xdc00 && c <= 0xdfff && l >= 2 ? 2 : 1;
      return { ch: t.slice(l - len, l), next: off - len };
    }
    return { ch: "\n", next: this.ends[i] };
  }

  _wordAhead(off) {
    const c = this.char(off, 1);
    if (!c) return null;
    if (isWord(c.ch)) return c;
    if (JOINERS.has(c.ch)) {
      const b = this.char(off, -1);
      const a = this.char(c.next, 1);
      if (b && a && isWord(b.ch) && isWord(a.ch)) return c;
    }
    return null;
  }

  _wordBehind(off) {
    const c = this.char(off, -1);
    if (!c) return null;
    if (isWord(c.ch)) return c;
    if (JOINERS.has(c.ch)) {
      const b = this.char(c.next, -1);
      const a = this.char(off, 1);
      if (b && a && isWord(b.ch) && isWord(a.ch)) return c;
    }
    return null;
  }

  /** [start, end) grown to whole words and trimmed of white space at both ends; null if
   * nothing but white space is left. */
  snapToWords(start, end) {
    let s = start;
    let e = end;
    if (this._wordBehind(s) && this._wordAhead(s)) {
      for (let c = this._wordBehind(s); c; c = this._wordBehind(s)) s = c.next;
    }
    if (this._wordBehind(e) && this._wordAhead(e)) {
      for (let c = this._wordAhead(e); c; c = this._wordAhead(e)) e = c.next;
    }
    for (let c = this.char(s, 1); c && isSpace(c.ch) && s < e; c = this.char(s, 1)) s = c.next;
    for (let c = this.char(e, -1); c && isSpace(c.ch) && e > s; c = this.char(e, -1)) e = c.next;
    return e > s ? { start: s, end: e } : null;
  }

  /** The offset one word further on from `off`: dir 1 lands after the next word's end, dir -1
   * on the previous word's start. `edge` "start" lands on word starts going forward and
   * "end" on word ends going back (for moving a passage's start or end). */
  stepWord(off, dir, edge) {
    let o = off;
    let c;
    if (dir > 0 && edge === "start") {
      while ((c = this._wordAhead(o))) o = c.next;
      while ((c = this.char(o, 1)) && !isWord(c.ch)) o = c.next;
      return o;
    }
    if (dir > 0) {
      while ((c = this.char(o, 1)) && !isWord(c.ch)) o = c.next;
      while ((c = this._wordAhead(o))) o = c.next;
      return o;
    }
    if (edge === "end") {
      while ((c = this.char(o, -1)) && !isWord(c.ch)) o = c.next;
      while ((c = this._wordBehind(o))) o = c.next;
      while ((c = this.char(o, -1)) && !isWord(c.ch)) o = c.next;
      return o;
    }
    while ((c = this.char(o, -1)) && !isWord(c.ch)) o = c.next;
    while ((c = this._wordBehind(o))) o = c.next;
    return o;
  }
}

/** Spans from a flat [start, end, start, end, ...] list, sorted by start (sentences, turns). */
export class Spans {
  /** `flat`: [start, end, start, end, ...], each number sent as its difference from the one
   * before it (transcript_page.boundaries); they are added up here. */
  constructor(flat) {
    this.starts = [];
    this.ends = [];
    let at = 0;
    for (let k = 0; k + 1 < flat.length; k += 2) {
      at += flat[k];
      this.starts.push(at);
      at += flat[k + 1];
      this.ends.push(at);
    }
  }

  get length() {
    return this.starts.length;
  }

  /** Index of the span holding `off`, else the next one after it, else the last; -1 if none. */
  at(off) {
    if (!this.starts.length) return -1;
    const k = lastAtOrBefore(this.starts, off);
    if (k >= 0 && off < this.ends[k]) return k;
    return Math.min(k + 1, this.starts.length - 1);
  }

  /** [start, end) grown to whole spans. */
  extend(start, end) {
    const a = this.at(start);
    const b = this.at(Math.max(start, end - 1));
    if (a < 0) return { start, end };
    return {
      start: Math.min(start, this.starts[a]),
      end: Math.max(end, this.ends[Math.max(a, b)]),
    };
  }

  span(k) {
    return { start: this.starts[k], end: this.ends[k] };
  }
}
