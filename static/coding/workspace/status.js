// The status line, toasts, and the page's one way to call its JSON endpoints (through net.js):
// "Saving…" while a write is under way, the server's error (or a plain one) as a toast.

import { jsonOf, request } from "../net.js";
import { $, S } from "./state.js";

let statusTimer = 0;
export function setStatus(text, kind = "") {
  const s = $("ws-status");
  s.textContent = text;
  s.dataset.kind = kind;
  clearTimeout(statusTimer);
  if (kind === "ok") statusTimer = setTimeout(() => (s.textContent = ""), 2500);
}

let toastTimer = 0;
export function toast(text, kind = "error") {
  const t = $("ws-toast");
  t.textContent = text;
  t.dataset.kind = kind;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), kind === "error" ? 6000 : 3000);
}

let pending = 0;
/** GET or POST `target`; the JSON answer, or null after telling the researcher what failed.
 * `quiet` calls (reads the researcher did not ask for) change neither the status nor toasts. */
export async function send(method, target, params = null, { quiet = false } = {}) {
  if (quiet) {
    try {
      const res = await request(method, target, params);
      return res.ok ? await jsonOf(res) : null;
    } catch {
      return null;
    }
  }
  pending += 1;
  setStatus(S.saving, "busy");
  let res;
  try {
    res = await request(method, target, params);
  } catch {
    pending -= 1;
    setStatus("");
    toast(S.failed);
    return null;
  }
  pending -= 1;
  const json = await jsonOf(res);
  if (!res.ok) {
    setStatus("");
    const fallback = res.status === 403 ? S.forbidden : res.status === 404 ? S.notFound : S.failed;
    toast((json && json.error) || fallback);
    return null;
  }
  if (!pending) setStatus(method === "POST" ? S.saved : "", "ok");
  return json;
}
