// One job: every field, the eventlog as it grows, output while it runs, cancel.

import { api, events, lines, stream } from "./api.js";
import { refreshFiles, showFiles } from "./files.js";
import { badge, duration, el, fullTime, isActive, runtime } from "./format.js";

// A browser tab should not hold unbounded output; the API keeps all of it.
const MAX_LINES = 10000;

const $ = (id) => document.getElementById(id);
const title = $("job-id");
const stateBadge = $("job-state");
const cancelButton = $("job-cancel");
const message = $("job-message");
const errorLine = $("job-error");
const fields = $("job-fields");
const eventlog = $("job-events");
const output = $("job-output");
const outputStatus = $("output-status");

let running = null;
let current = null;
let pending = [];
let lineCount = 0;
let refreshTimer = null;
let runtimeCell = null;

const none = (value) => (value == null || value === "" ? "—" : value);

const FIELDS = [
  ["ID", (j) => j.id],
  ["Decimal ID", (j) => j.id_dec],
  ["Name", (j) => j.name],
  ["User", (j) => j.user],
  ["State", (j) => badge(j.state)],
  ["Result", (j) => (j.result ? badge(j.result) : "—")],
  ["Return code", (j) => none(j.returncode)],
  ["Exception", (j) => (j.exception ? `${j.exception.type}: ${j.exception.note}` : "—")],
  ["Nodes", (j) => j.nodes],
  ["Tasks", (j) => j.tasks],
  ["Cores", (j) => j.cores],
  ["GPUs", (j) => j.gpus],
  ["Node list", (j) => none(j.nodelist)],
  ["Queue", (j) => none(j.queue)],
  ["Working directory", (j) => none(j.cwd)],
  ["Urgency", (j) => j.urgency],
  ["Submitted", (j) => fullTime(j.t_submit)],
  ["Started", (j) => none(fullTime(j.t_run))],
  ["Cleanup", (j) => none(fullTime(j.t_cleanup))],
  ["Inactive", (j) => none(fullTime(j.t_inactive))],
  ["Runtime", (j) => none(duration(runtime(j)))],
];

function say(element, text) {
  element.textContent = text ?? "";
  element.hidden = !text;
}

function render(job) {
  current = job;
  title.textContent = job.id;
  const shown = job.result ?? job.state;
  stateBadge.className = `badge ${shown.toLowerCase()}`;
  stateBadge.textContent = shown;
  cancelButton.disabled = !isActive(job);
  fields.replaceChildren(
    ...FIELDS.flatMap(([label, value]) => {
      const content = value(job);
      return [el("dt", {}, label), el("dd", {}, content instanceof Node ? content : String(content))];
    }),
  );
  runtimeCell = fields.lastElementChild;
}

function tick() {
  if (current && runtimeCell && (current.state === "RUN" || current.state === "CLEANUP")) {
    runtimeCell.textContent = duration(runtime(current));
  }
}

// Eventlog history arrives in a burst: read the job once after it, not once per entry.
function refreshSoon(id, signal) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh(id, signal), 100);
}

async function refresh(id, signal) {
  try {
    render(await api(`api/v1/jobs/${encodeURIComponent(id)}`, { signal }));
    say(errorLine, "");
    return true;
  } catch (error) {
    if (error.name !== "AbortError" && error.status !== 401) say(errorLine, error.message);
    return false;
  }
}

function context(entry) {
  const pairs = Object.entries(entry.context ?? {});
  return pairs.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(" ");
}

async function followEvents(id, signal) {
  try {
    const response = await stream(`api/v1/jobs/${encodeURIComponent(id)}/events`, { signal });
    for await (const message of events(response)) {
      const entry = JSON.parse(message.data);
      eventlog.append(
        el(
          "li",
          {},
          el("time", { title: fullTime(entry.timestamp) }, new Date(entry.timestamp * 1000).toLocaleTimeString()),
          el("span", { className: "event-name" }, entry.name),
          el("span", { className: "event-context" }, context(entry)),
        ),
      );
      refreshSoon(id, signal);
    }
    refreshFiles();
  } catch (error) {
    if (error.name !== "AbortError" && error.status !== 401) say(errorLine, error.message);
  }
}

function flushOutput() {
  const atBottom = output.scrollHeight - output.scrollTop - output.clientHeight < 40;
  const fragment = document.createDocumentFragment();
  for (const line of pending) {
    const span = el("span", { className: `line ${line.stream === "stderr" ? "err" : "out"}` });
    span.dataset.stream = line.stream;
    span.dataset.rank = String(line.rank);
    span.textContent = line.data.replace(/\n$/, "");
    fragment.append(span);
  }
  pending = [];
  output.append(fragment);
  lineCount = output.childElementCount;
  while (lineCount > MAX_LINES) {
    output.firstElementChild.remove();
    lineCount -= 1;
  }
  if (atBottom) output.scrollTop = output.scrollHeight;
}

function queueLine(line) {
  if (pending.length === 0) requestAnimationFrame(flushOutput);
  pending.push(line);
}

async function followOutput(id, signal) {
  say(outputStatus, "Waiting for output…");
  try {
    const path = `api/v1/jobs/${encodeURIComponent(id)}/output?follow=true`;
    const response = await stream(path, { signal, accept: "application/x-ndjson" });
    say(outputStatus, "Streaming");
    outputStatus.className = "live on";
    for await (const text of lines(response)) {
      if (text) queueLine(JSON.parse(text));
    }
    say(outputStatus, output.childElementCount || pending.length ? "Complete" : "No output");
  } catch (error) {
    if (error.name === "AbortError" || error.status === 401) return;
    say(outputStatus, `Output unavailable: ${error.message}`);
  }
  outputStatus.className = "live";
}

async function cancel() {
  if (!current || !running) return;
  cancelButton.disabled = true;
  try {
    await api(`api/v1/jobs/${encodeURIComponent(current.id)}/cancel`, {
      method: "POST",
      body: { reason: "canceled from the web page" },
    });
    say(message, "Cancel requested.");
  } catch (error) {
    say(errorLine, `Cannot cancel: ${error.message}`);
    cancelButton.disabled = !isActive(current);
  }
}

/** Show job `id` and follow it until the view is left. */
export async function showJob(id) {
  running?.abort();
  running = new AbortController();
  const { signal } = running;
  current = null;
  pending = [];
  title.textContent = id;
  stateBadge.textContent = "";
  stateBadge.className = "badge none";
  cancelButton.disabled = true;
  say(message, "");
  say(errorLine, "");
  fields.replaceChildren();
  eventlog.replaceChildren();
  output.replaceChildren();
  say(outputStatus, "");
  if (await refresh(id, signal)) {
    followEvents(current.id, signal);
    followOutput(current.id, signal);
    showFiles(current.cwd, signal);
    const timer = setInterval(tick, 1000);
    signal.addEventListener("abort", () => clearInterval(timer));
  }
}

export function hideJob() {
  running?.abort();
  running = null;
  clearTimeout(refreshTimer);
}

cancelButton.addEventListener("click", cancel);
