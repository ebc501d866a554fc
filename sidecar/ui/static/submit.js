// The submit form: fields to the JSON of POST /api/v1/jobs, and the API's
// field errors back next to the fields they name.

import { api, ApiError } from "./api.js";
import { el } from "./format.js";

const form = document.getElementById("submit-form");
const formError = document.getElementById("submit-error");
const submitButton = form.querySelector("button[type=submit]");
const NUMBERS = ["tasks", "nodes", "cores_per_task", "gpus_per_task"];

class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

function fieldBox(name) {
  return form.querySelector(`[data-field="${name}"]`);
}

function clearErrors() {
  for (const box of form.querySelectorAll(".field")) {
    box.classList.remove("invalid");
    box.querySelector("input, textarea").removeAttribute("aria-invalid");
    const error = box.querySelector(".field-error");
    error.textContent = "";
    error.hidden = true;
  }
  formError.hidden = true;
  formError.textContent = "";
}

/** Put `message` next to field `name`; false if the form has no such field. */
function showFieldError(name, message) {
  const box = fieldBox(name);
  if (!box) return false;
  box.classList.add("invalid");
  box.querySelector("input, textarea").setAttribute("aria-invalid", "true");
  const error = box.querySelector(".field-error");
  error.textContent = error.textContent ? `${error.textContent}; ${message}` : message;
  error.hidden = false;
  return true;
}

function parseEnv(text) {
  const env = {};
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const equals = line.indexOf("=");
    if (equals <= 0) throw new FieldError("env", `line ${index + 1}: expected NAME=value`);
    env[line.slice(0, equals).trim()] = line.slice(equals + 1);
  });
  return env;
}

function requestBody() {
  const values = Object.fromEntries(new FormData(form));
  const body = {};
  const command = values.command.trim();
  const script = values.script.trimStart();
  if (command && script) throw new FieldError("script", "give a command or a script, not both");
  if (!command && !script) throw new FieldError("command", "enter a command to run, or a script");
  if (script) {
    body.script = script;
    body.batch = values.batch === "on";
  } else {
    body.command = command;
  }
  for (const name of ["name", "cwd"]) {
    if (values[name].trim()) body[name] = values[name].trim();
  }
  for (const name of NUMBERS) {
    const text = values[name].trim();
    if (!text) continue;
    if (!/^\d+$/.test(text)) throw new FieldError(name, "a whole number");
    body[name] = Number(text);
  }
  const limit = values.time_limit.trim();
  if (limit) body.time_limit = /^\d+(\.\d+)?$/.test(limit) ? Number(limit) : limit;
  const env = parseEnv(values.env);
  if (Object.keys(env).length) body.env = env;
  return body;
}

function showApiError(error) {
  const unplaced = [];
  for (const { field, message } of error.errors) {
    // "env.HOME" or "command.0" belong to the field before the dot.
    if (!showFieldError(String(field).split(".")[0], message)) unplaced.push(message);
  }
  const text = error.errors.length ? unplaced.join("; ") : error.detail;
  if (text) {
    formError.textContent =
      error.status === 503 ? `Not accepted now: ${text}` : `The job was not submitted: ${text}`;
    formError.hidden = false;
  }
  form.querySelector(".invalid input, .invalid textarea")?.focus();
}

async function submit(event) {
  event.preventDefault();
  clearErrors();
  let body;
  try {
    body = requestBody();
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    showFieldError(error.field, error.message);
    fieldBox(error.field).querySelector("input, textarea").focus();
    return;
  }
  submitButton.disabled = true;
  try {
    const job = await api("api/v1/jobs", { method: "POST", body });
    const link = el("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, className: "mono" }, job.id);
    form.dispatchEvent(
      new CustomEvent("submitted", { detail: ["Submitted job ", link, ` (${job.name}).`] }),
    );
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status !== 401) showApiError(error);
  } finally {
    submitButton.disabled = false;
  }
}

form.addEventListener("submit", submit);

/** Call `handler(notice)` after each successful submission. */
export function onSubmitted(handler) {
  form.addEventListener("submitted", (event) => handler(event.detail));
}

export function showSubmit() {
  document.getElementById("f-command").focus();
}
