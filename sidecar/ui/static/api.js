// Talking to the sidecar's API: the token, JSON requests, and streamed bodies.
//
// Why a bearer header and not a cookie: EventSource cannot send an
// Authorization header, so every stream here is a fetch() read with a
// ReadableStream reader, and every request carries `Authorization: Bearer`.
// No cookie is ever set, so a browser never attaches a credential by itself:
// there is no cross-site request to forge and no CSRF token to manage, and the
// API stays the one bearer-token API of DESIGN section 5. The token lives in
// sessionStorage (this tab only, gone when it closes), never in a URL, a cookie
// or localStorage; the page's Content-Security-Policy allows no inline or
// foreign script that could read it.

const TOKEN_KEY = "flux-sidecar.token";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An answer other than 2xx: `status` 0 when the sidecar could not be reached. */
export class ApiError extends Error {
  constructor(status, detail, errors = []) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.errors = errors;
  }
}

const unauthorizedHandlers = [];

/** Call `handler(error)` whenever the API answers 401 (token wrong or rotated). */
export function onUnauthorized(handler) {
  unauthorizedHandlers.push(handler);
}

function headers(extra = {}) {
  const value = token.get();
  return value ? { Authorization: `Bearer ${value}`, ...extra } : { ...extra };
}

async function errorFrom(response) {
  let detail = `${response.status} ${response.statusText}`.trim();
  let errors = [];
  try {
    const body = await response.json();
    if (typeof body.detail === "string") detail = body.detail;
    if (Array.isArray(body.errors)) errors = body.errors;
  } catch {
    // not JSON: keep the status line
  }
  const error = new ApiError(response.status, detail, errors);
  if (response.status === 401) unauthorizedHandlers.forEach((handler) => handler(error));
  return error;
}

async function send(path, init) {
  let response;
  try {
    response = await fetch(path, { cache: "no-store", credentials: "omit", ...init });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "the sidecar cannot be reached");
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

/** A JSON request; resolves to the parsed body. Paths are relative to the page. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const init = { method, signal, headers: headers({ Accept: "application/json" }) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await send(path, init);
  return response.status === 204 ? null : response.json();
}

/** PUT a raw body (a File streams from disk); resolves to the parsed JSON answer. */
export async function putBody(path, body, { signal } = {}) {
  const type = { Accept: "application/json", "Content-Type": "application/octet-stream" };
  const response = await send(path, { method: "PUT", body, signal, headers: headers(type) });
  return response.json();
}

/** A streamed GET: the Response, whose body the caller reads with `lines` or `events`. */
export function stream(path, { signal, accept, lastEventId } = {}) {
  const extra = accept ? { Accept: accept } : {};
  if (lastEventId) extra["Last-Event-ID"] = lastEventId;
  return send(path, { signal, headers: headers(extra) });
}

/** The lines of a streamed body as they arrive. */
export async function* lines(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        yield buffer.slice(0, end).replace(/\r$/, "");
        buffer = buffer.slice(end + 1);
      }
    }
    if (buffer) yield buffer;
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** Server-Sent Events of a streamed body: `{id, data}` per message; comments skipped. */
export async function* events(response) {
  let data = [];
  let id = null;
  for await (const line of lines(response)) {
    if (line === "") {
      if (data.length) yield { id, data: data.join("\n") };
      data = [];
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
}

/** Resolve after `ms`, or at once when `signal` aborts. */
export function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
