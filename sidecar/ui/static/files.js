// The job page's file pane: the job's working directory under the files root,
// with downloads and uploads. Downloads are fetch() reads with the bearer token,
// handed to the browser as a blob: a plain link could not carry the token.

import { api, putBody, stream } from "./api.js";
import { el, fullTime, when } from "./format.js";

const $ = (id) => document.getElementById(id);
const crumbs = $("files-crumbs");
const note = $("files-note");
const errorLine = $("files-error");
const body = $("files-body");
const empty = $("files-empty");
const form = $("files-upload");
const input = $("files-input");
const status = $("files-status");

let here = null; // the folder shown, relative to the root ("" is the root)
let signal = null;

const say = (element, text) => {
  element.textContent = text ?? "";
  element.hidden = !text;
};

const encodePath = (path) => path.split("/").map(encodeURIComponent).join("/");
const join = (folder, name) => (folder ? `${folder}/${name}` : name);

/** `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function size(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `cwd` relative to `root`: "" for the root itself, null when it lies outside. */
export function relativeTo(root, cwd) {
  const base = root.replace(/\/+$/, "");
  const path = (cwd ?? "").replace(/\/+$/, "");
  if (!path || path === base) return "";
  return path.startsWith(`${base}/`) ? path.slice(base.length + 1) : null;
}

function crumb(label, path) {
  const button = el("button", { type: "button", className: "link" }, label);
  button.addEventListener("click", () => show(path));
  return button;
}

function renderCrumbs(path) {
  const parts = path ? path.split("/") : [];
  const items = [crumb("files root", "")];
  parts.forEach((part, index) => {
    items.push(" / ", crumb(part, parts.slice(0, index + 1).join("/")));
  });
  crumbs.replaceChildren(...items);
}

async function download(entry) {
  say(errorLine, "");
  try {
    const response = await stream(`api/v1/files/${encodePath(entry.path)}`, { signal });
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: entry.name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (error) {
    if (error.name !== "AbortError") say(errorLine, `Cannot download ${entry.name}: ${error.message}`);
  }
}

function row(entry) {
  const isDir = entry.type === "dir";
  const label = isDir ? `${entry.name}/` : entry.name;
  const name = el("button", { type: "button", className: "link", title: entry.path }, label);
  if (isDir) name.addEventListener("click", () => show(entry.path));
  else if (entry.type === "file" || entry.type === "symlink") name.addEventListener("click", () => download(entry));
  else name.disabled = true;
  const tr = el(
    "tr",
    {},
    el("td", { className: "name" }, name, entry.type === "symlink" ? ` → ${entry.target ?? "?"}` : null),
    el("td", { className: "num" }, isDir ? "" : size(entry.size)),
    el("td", { title: fullTime(entry.mtime) }, when(entry.mtime)),
  );
  tr.dataset.type = entry.type;
  return tr;
}

/** Show folder `path` (relative to the files root). */
async function show(path) {
  here = path;
  renderCrumbs(path);
  say(errorLine, "");
  try {
    const listing = await api(`api/v1/files?path=${encodeURIComponent(path)}`, { signal });
    if (here !== path) return;
    body.replaceChildren(...listing.entries.map(row));
    empty.hidden = listing.entries.length > 0;
    if (listing.truncated) say(note, "Only the first entries are shown; the CLI lists them all.");
  } catch (error) {
    if (error.name === "AbortError") return;
    body.replaceChildren();
    empty.hidden = true;
    say(errorLine, `Cannot list ${path || "the files root"}: ${error.message}`);
  }
}

async function upload(event) {
  event.preventDefault();
  const chosen = [...input.files];
  if (!chosen.length) {
    say(status, "Choose a file first.");
    return;
  }
  const folder = here ?? "";
  say(errorLine, "");
  for (const file of chosen) {
    say(status, `Uploading ${file.name} (${size(file.size)})…`);
    try {
      await putBody(`api/v1/files/${encodePath(join(folder, file.name))}`, file, { signal });
    } catch (error) {
      if (error.name === "AbortError") return;
      say(status, "");
      say(errorLine, `Cannot upload ${file.name}: ${error.message}`);
      return;
    }
  }
  say(status, `Uploaded ${chosen.map((file) => file.name).join(", ")}.`);
  form.reset();
  await show(folder);
}

/** Show the job's working directory `cwd`, or the root when it lies elsewhere. */
export async function showFiles(cwd, abort) {
  signal = abort;
  here = null;
  body.replaceChildren();
  say(note, "");
  say(status, "");
  say(errorLine, "");
  try {
    const top = await api("api/v1/files", { signal });
    const path = relativeTo(top.root, cwd);
    if (path === null) say(note, `The job runs in ${cwd}, outside the files root ${top.root}.`);
    await show(path ?? "");
  } catch (error) {
    if (error.name !== "AbortError") say(errorLine, `Files are not available: ${error.message}`);
  }
}

/** List the folder shown again (a job that ended may have written to it). */
export function refreshFiles() {
  if (here !== null) show(here);
}

form.addEventListener("submit", upload);
$("files-refresh").addEventListener("click", refreshFiles);
