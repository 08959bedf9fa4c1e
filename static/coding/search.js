// Search results: "tick all" per transcript, and the count of ticked hits in the code form.
(function () {
  "use strict";
  const form = document.getElementById("code-form");
  if (!form) return;
  const boxes = () => Array.from(document.querySelectorAll('input[name="hit"][form="code-form"]'));
  const counter = form.querySelector("[data-selected-count]");
  const selectedRadio = form.querySelector('input[name="scope"][value="selected"]');

  function update() {
    const n = boxes().filter((b) => b.checked).length;
    if (counter) counter.textContent = String(n);
    if (n > 0 && selectedRadio) selectedRadio.checked = true;
  }

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    if (target.matches("[data-select-group]")) {
      const group = target.closest(".kwic-group");
      group.querySelectorAll('input[name="hit"]').forEach((b) => {
        b.checked = target.checked;
      });
      update();
    } else if (target.name === "hit") {
      update();
    }
  });
  update();
})();
