// The comparison view: step from one disagreement to the next with the keyboard.
// j / n: next, k / p: previous. The server marks which passages disagree (data-disagreement).
(() => {
  const stops = [...document.querySelectorAll(".passage[data-disagreement]")];
  const position = document.getElementById("compare-position");
  let current = -1;

  function go(i) {
    if (!stops.length) return;
    current = (i + stops.length) % stops.length;
    const el = stops[current];
    stops.forEach((s) => s.classList.toggle("current", s === el));
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "center" });
    position.textContent = `${current + 1} / ${stops.length}`;
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.target.closest("input, textarea, select, [contenteditable]")) return;
    if (ev.key === "j" || ev.key === "n") {
      ev.preventDefault();
      go(current + 1);
    } else if (ev.key === "k" || ev.key === "p") {
      ev.preventDefault();
      go(current - 1);
    }
  });
})();
