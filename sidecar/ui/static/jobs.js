// The job table: one page of the listing, rows kept current from /api/v1/events.
//
// A change to a row on the page is applied in place from the event itself;
// a change that may alter which jobs belong on the page (a new job, a row
// leaving the state filter) reloads the page once, after a short quiet time,
// so a burst of submissions costs one listing, not one request per job.

import { api, ApiError, events, pause, stream } from "./api.js";
import { applyChange, badge, duration, el, fullTime, runtime, when } from "./format.js";
import { refreshResources } from "./status.js";

const PAGE_SIZE = 25;
const RELOAD_AFTER_MS = 300;
const RETRY_MS = 2000;

const $ = (id) => document.getElementById(id);
const body = $("jobs-body");
const filter = $("state-filter");
const newer = $("page-newer");
const older = $("page-older");
const pageInfo = $("page-info");
const live = $("jobs-live");
const empty = $("jobs-empty");
const errorLine = $("jobs-error");
const notice = $("jobs-notice");

const COLUMNS = ["ID", "Name", "User", "State", "Result", "Nodes", "Tasks", "Submitted", "Runtime"];

let cursors = [null];
let next = null;
let rows = new Map();
let reloadTimer = null;
let running = null;

function cell(label, content, className = "") {
  const td = el("td", { className }, content);
  td.dataset.label = label;
  return td;
}

function renderRow(job, tr = el("tr")) {
  tr.dataset.id = job.id;
  tr.dataset.state = job.state;
  const link = el("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, className: "mono" }, job.id);
  const submitted = el("time", { title: fullTime(job.t_submit) }, when(job.t_submit));
  tr.replaceChildren(
    cell(COLUMNS[0], link),
    cell(COLUMNS[1], job.name, "name"),
    cell(COLUMNS[2], job.user),
    cell(COLUMNS[3], badge(job.state), "state"),
    cell(COLUMNS[4], badge(job.result), "result"),
    cell(COLUMNS[5], String(job.nodes), "num"),
    cell(COLUMNS[6], String(job.tasks), "num"),
    cell(COLUMNS[7], submitted),
    cell(COLUMNS[8], duration(runtime(job)), "num runtime"),
  );
  return tr;
}

function flash(tr) {
  tr.classList.remove("changed");
  void tr.offsetWidth; // restart the highlight
  tr.classList.add("changed");
}

function show(jobs) {
  const fresh = new Map();
  const elements = jobs.map((job) => {
    const known = rows.get(job.id);
    const tr = renderRow(job, known?.tr);
    fresh.set(job.id, { job, tr });
    return tr;
  });
  body.replaceChildren(...elements);
  rows = fresh;
  empty.hidden = jobs.length > 0;
}

function wanted() {
  return filter.value ? filter.value.split(",") : null;
}

async function load(signal) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (filter.value) params.set("state", filter.value);
  const cursor = cursors[cursors.length - 1];
  if (cursor) params.set("cursor", cursor);
  try {
    const page = await api(`api/v1/jobs?${params}`, { signal });
    errorLine.hidden = true;
    next = page.next;
    show(page.jobs);
  } catch (error) {
    if (error.name === "AbortError" || error.status === 401) return;
    errorLine.textContent = `Could not list jobs: ${error.message}`;
    errorLine.hidden = false;
  }
  newer.disabled = cursors.length === 1;
  older.disabled = !next;
  pageInfo.textContent = `Page ${cursors.length}`;
}

function reloadSoon(signal) {
  if (reloadTimer !== null) return;
  reloadTimer = setTimeout(() => {
    reloadTimer = null;
    if (!signal.aborted) load(signal);
  }, RELOAD_AFTER_MS);
}

function onChange(change, signal) {
  const row = rows.get(change.id);
  const states = wanted();
  if (row) {
    applyChange(row.job, change);
    renderRow(row.job, row.tr);
    flash(row.tr);
    if (states && !states.includes(change.state)) reloadSoon(signal);
  } else if (cursors.length === 1 && (!states || states.includes(change.state))) {
    reloadSoon(signal);
  }
  if (change.state === "RUN" || change.state === "INACTIVE") refreshResources(signal);
}

async function follow(signal) {
  let lastEventId = null;
  while (!signal.aborted) {
    try {
      const response = await stream("api/v1/events", { signal, lastEventId });
      live.textContent = "Live";
      live.className = "live on";
      // Listed once following: no change between the listing and the stream is lost.
      load(signal);
      for await (const message of events(response)) {
        lastEventId = message.id ?? lastEventId;
        onChange(JSON.parse(message.data), signal);
      }
    } catch (error) {
      if (signal.aborted || error.status === 401) return;
      if (error instanceof ApiError && error.status === 400) lastEventId = null;
      load(signal); // no live updates for now, but a current table
    }
    if (signal.aborted) return;
    live.textContent = "Reconnecting…";
    live.className = "live off";
    await pause(RETRY_MS, signal);
  }
}

function tick() {
  for (const { job, tr } of rows.values()) {
    if (job.state === "RUN" || job.state === "CLEANUP") {
      tr.querySelector(".runtime").textContent = duration(runtime(job));
    }
  }
}

/** Show the table; `message` is a notice such as "Job ƒ… submitted". */
export function showJobs(message) {
  running?.abort();
  running = new AbortController();
  const { signal } = running;
  notice.replaceChildren(...(message ?? []));
  notice.hidden = !message;
  if (message) cursors = [null]; // a new job is on the first page
  follow(signal);
  const timer = setInterval(tick, 1000);
  signal.addEventListener("abort", () => clearInterval(timer));
}

export function hideJobs() {
  running?.abort();
  running = null;
  if (reloadTimer !== null) clearTimeout(reloadTimer);
  reloadTimer = null;
}

function restart(newCursors) {
  cursors = newCursors;
  if (running) load(running.signal);
}

filter.addEventListener("change", () => restart([null]));
newer.addEventListener("click", () => restart(cursors.slice(0, -1)));
older.addEventListener("click", () => next && restart([...cursors, next]));
