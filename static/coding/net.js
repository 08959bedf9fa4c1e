// The one way the scripts talk to the server: same-origin fetch, Django's CSRF token on every
// POST, fields sent as a form (URLSearchParams), never JSON bodies. Pages load it as a module.

/** Django's CSRF token: the csrftoken cookie, or a rendered {% csrf_token %} input where the
 * cookie cannot be read (CSRF_COOKIE_HTTPONLY). */
export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (m) return decodeURIComponent(m[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/** A form body from a plain object (arrays repeat the field; null and undefined are left out),
 * or the URLSearchParams / FormData given. */
export function formBody(params) {
  if (params instanceof URLSearchParams || params instanceof FormData) return params;
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (Array.isArray(v)) v.forEach((x) => body.append(k, String(x)));
    else if (v !== null && v !== undefined) body.append(k, String(v));
  }
  return body;
}

/** fetch() with the session cookie; a POST carries the CSRF token and `params` as a form. The
 * Response is returned as is (callers decide what a failure means); network errors reject. */
export function request(method, url, params = null, headers = {}) {
  const init = { method, credentials: "same-origin", headers: { "X-Requested-With": "fetch", ...headers } };
  if (method !== "GET" && method !== "HEAD") {
    init.headers["X-CSRFToken"] = csrfToken();
    init.body = formBody(params);
  }
  return fetch(url, init);
}

/** The JSON of a response, or null when it has none. */
export async function jsonOf(response) {
  if (!(response.headers.get("content-type") || "").includes("json")) return null;
  return response.json().catch(() => null);
}
