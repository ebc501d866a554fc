// How jobs read on the page: times, durations, state and result badges.

const ACTIVE = new Set(["DEPEND", "PRIORITY", "SCHED", "RUN", "CLEANUP"]);

export const isActive = (job) => ACTIVE.has(job.state);

const clock = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const dated = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

/** A short local time: the clock today, the date and minute before. */
export function when(epoch) {
  if (epoch == null) return "";
  const date = new Date(epoch * 1000);
  const today = new Date().toDateString() === date.toDateString();
  return (today ? clock : dated).format(date);
}

/** The full local time, for a title or a details list. */
export function fullTime(epoch) {
  return epoch == null ? "" : new Date(epoch * 1000).toLocaleString();
}

/** `4.2s`, `3m 05s`, `2h 03m`, `3d 4h`. */
export function duration(seconds) {
  if (seconds == null) return "";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.floor(seconds);
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor(s / 3600) % 24}h`;
}

/** Seconds a job has run (Flux's runtime: from RUN to CLEANUP), growing while it runs. */
export function runtime(job) {
  if (job.t_run == null) return null;
  const end = job.t_cleanup ?? job.t_inactive ?? Date.now() / 1000;
  return Math.max(0, end - job.t_run);
}

/** Copy the state change of an `/api/v1/events` message onto a job. */
export function applyChange(job, change) {
  job.state = change.state;
  job.result = change.result;
  if (change.state === "RUN") job.t_run ??= change.timestamp;
  if (change.state === "CLEANUP") job.t_cleanup ??= change.timestamp;
  if (change.state === "INACTIVE") job.t_inactive ??= change.timestamp;
}

/** A badge element for a state or a result (empty text for none). */
export function badge(value) {
  const element = document.createElement("span");
  element.className = value ? `badge ${value.toLowerCase()}` : "badge none";
  element.textContent = value ?? "";
  return element;
}

/** A small element helper: `el("td", {className: "num"}, "text", child)`. */
export function el(tag, props = {}, ...children) {
  const element = Object.assign(document.createElement(tag), props);
  for (const child of children) {
    if (child != null) element.append(child);
  }
  return element;
}
