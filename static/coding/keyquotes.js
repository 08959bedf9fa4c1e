// Key-quote stars in the transcript view's inspector. The stars are a server-rendered fragment
// (coding:excerpt-key-quotes, the same one the drill-down shows); htmx loads it under the
// passage's codes each time workspace/inspector.js renders the inspector, and swaps it after a
// mark.
const aside = document.getElementById("ws-inspector");
const body = document.getElementById("ws-inspector-body");

if (aside && body && window.htmx) {
  const template = aside.dataset.keyQuotesUrl; // ".../excerpts/0/key-quotes/"
  body.addEventListener("ws:inspector", (ev) => {
    const id = Number(ev.detail && ev.detail.excerpt);
    if (!id || !template) return;
    const slot = document.createElement("div");
    slot.className = "ws-key-quotes";
    slot.setAttribute("hx-get", template.replace("/0/", `/${id}/`));
    slot.setAttribute("hx-trigger", "load");
    slot.setAttribute("hx-swap", "innerHTML");
    const codes = body.querySelector(".ws-insp-codes");
    if (codes) codes.after(slot);
    else body.append(slot);
    window.htmx.process(slot);
  });
}
