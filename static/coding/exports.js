// The export page: show the selection filters only for the "selection" layout and the
// framework option only for the framework layout. Without JavaScript everything stays visible.
(function () {
  "use strict";
  const form = document.querySelector("[data-export-form]");
  if (!form) return;
  const selection = form.querySelector("[data-selection]");
  const frameworkOnly = form.querySelectorAll("[data-framework-only]");
  function update() {
    const checked = form.querySelector("input[name=layout]:checked");
    const layout = checked ? checked.value : "";
    if (selection) selection.hidden = layout !== "selection";
    frameworkOnly.forEach(function (el) { el.hidden = layout !== "framework"; });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "layout") update();
  });
  update();
})();
