// Drag and drop in the codebook editor. Each code row can be dropped on another: on its upper
// edge (before it), its lower edge (after it) or its middle (nested inside, as the last sub-code).
// The move is posted to the code's move URL as (parent, position) and the page reloads; the
// server refuses cycles and foreign codes. The arrow buttons do the same without a mouse.
// Loaded as a module; the move goes through net.js.
import { request } from "./net.js";

(function () {

  const tree = document.querySelector("[data-codebook-tree][data-editable]");
  if (!tree) return;
  const status = document.querySelector("[data-codebook-status]");
  let dragged = null;
  let marked = null;

  function nodeOf(el) {
    return el ? el.closest(".code-node") : null;
  }

  function parentIdOf(node) {
    const parent = node.parentElement.closest(".code-node");
    return parent ? parent.dataset.codeId : "";
  }

  function siblingsOf(node) {
    return Array.from(node.parentElement.children).filter(
      (li) => li.classList.contains("code-node") && li !== dragged
    );
  }

  function zoneOf(row, clientY) {
    const box = row.getBoundingClientRect();
    const y = (clientY - box.top) / box.height;
    if (y < 0.3) return "before";
    if (y > 0.7) return "after";
    return "inside";
  }

  function unmark() {
    if (marked) marked.classList.remove("drop-before", "drop-after", "drop-inside");
    marked = null;
  }

  function say(text, busy) {
    if (!status) return;
    status.textContent = text; // never innerHTML: messages may quote code names
    status.classList.toggle("busy", Boolean(busy));
  }

  tree.addEventListener("dragstart", (event) => {
    const node = nodeOf(event.target);
    if (!node || !event.target.classList.contains("handle")) return;
    dragged = node;
    node.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", node.dataset.codeId);
    // Show the whole row, not only the handle, under the pointer.
    const row = node.querySelector(".code-row");
    if (row && event.dataTransfer.setDragImage) event.dataTransfer.setDragImage(row, 10, 10);
  });

  tree.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    unmark();
  });

  tree.addEventListener("dragover", (event) => {
    if (!dragged) return;
    const row = event.target.closest(".code-row");
    const node = nodeOf(row);
    // Nothing can go inside itself or its own sub-codes: say so over its sub-codes.
    if (!row || !node || dragged.contains(node)) {
      unmark();
      if (node && node !== dragged) say(tree.dataset.refuseNestedText || "", false);
      return;
    }
    if (status && status.textContent === tree.dataset.refuseNestedText) say("", false);
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    const zone = zoneOf(row, event.clientY);
    if (marked !== row) unmark();
    marked = row;
    row.classList.remove("drop-before", "drop-after", "drop-inside");
    row.classList.add("drop-" + zone);
  });

  tree.addEventListener("dragleave", (event) => {
    if (marked && !marked.contains(event.relatedTarget)) unmark();
  });

  tree.addEventListener("drop", (event) => {
    const row = event.target.closest(".code-row");
    const node = nodeOf(row);
    if (!dragged || !row || !node || dragged.contains(node)) return;
    event.preventDefault();
    const zone = zoneOf(row, event.clientY);
    const body = new FormData();
    if (zone === "inside") {
      body.append("parent", node.dataset.codeId);
    } else {
      const index = siblingsOf(node).indexOf(node);
      body.append("parent", parentIdOf(node));
      body.append("position", String(zone === "before" ? index : index + 1));
    }
    move(dragged.dataset.moveUrl, body);
    unmark();
  });

  async function move(url, body) {
    tree.classList.add("saving");
    say(tree.dataset.savingText || "…", true);
    try {
      const response = await request("POST", url, body);
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        tree.classList.remove("saving");
        say(data.error || response.statusText, false);
        return;
      }
      window.location.reload();
    } catch (err) {
      tree.classList.remove("saving");
      say(String(err), false);
    }
  }
})();
