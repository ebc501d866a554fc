// The instance at a glance: a banner when the broker is unavailable or the
// sidecar shuts down (from the open /readyz probe), and free vs allocated
// nodes, cores and GPUs (from /api/v1/resources).

import { api, ApiError, pause } from "./api.js";
import { el } from "./format.js";

const POLL_MS = 5000;

const banner = document.getElementById("banner");
const resourceList = document.getElementById("resources");
const instance = document.getElementById("instance");

function showBanner(kind, text) {
  banner.hidden = !text;
  banner.className = `banner ${kind}`;
  banner.textContent = text;
}

async function checkReady(signal) {
  try {
    const response = await fetch("readyz", { cache: "no-store", credentials: "omit", signal });
    if (response.ok) {
      showBanner("", "");
      return;
    }
    const body = await response.json().catch(() => ({}));
    const detail = body.detail ?? `status ${response.status}`;
    if (/shutting down/i.test(detail)) {
      showBanner(
        "warning",
        "The sidecar is shutting down: it accepts no new jobs and the broker will stop.",
      );
    } else {
      showBanner("danger", `The Flux broker is unavailable: ${detail}. Jobs cannot be submitted.`);
    }
  } catch (error) {
    if (error.name !== "AbortError") {
      showBanner("danger", "The sidecar cannot be reached. Retrying every few seconds.");
    }
  }
}

function meter(label, count) {
  const used = count.total ? Math.round((100 * count.allocated) / count.total) : 0;
  const bar = el("progress", { max: 100, value: used });
  bar.setAttribute("aria-hidden", "true");
  return el(
    "li",
    { className: "resource" },
    el("span", { className: "resource-name" }, label),
    bar,
    el("span", { className: "resource-free" }, `${count.free} free`),
    el("span", { className: "resource-used" }, `${count.allocated} allocated`),
  );
}

/** Fetch the resource summary now (also called after job state changes). */
export async function refreshResources(signal) {
  try {
    const resources = await api("api/v1/resources", { signal });
    resourceList.replaceChildren(
      meter("Nodes", resources.nodes),
      meter("Cores", resources.cores),
      meter("GPUs", resources.gpus),
    );
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) {
      resourceList.replaceChildren(el("li", { className: "resource" }, "Resources unavailable"));
    }
  }
}

/** Backend kind and version, shown beside the resources once signed in. */
export async function showInstance(signal) {
  try {
    const info = await api("api/v1/info", { signal });
    const note = info.backend.kind === "local" ? " (processes on one machine, not a scheduler)" : "";
    instance.textContent = `${info.backend.kind} backend${note} · flux-sidecar ${info.version}`;
  } catch {
    instance.textContent = "";
  }
}

/** Poll readiness always, and resources while `signedIn()`; stops when `signal` aborts. */
export async function watchStatus(signal, signedIn) {
  while (!signal.aborted) {
    await checkReady(signal);
    if (signedIn()) await refreshResources(signal);
    await pause(POLL_MS, signal);
  }
}
