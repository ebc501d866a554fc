// The page: sign-in, and a hash router over three views (#/jobs, #/jobs/ID,
// #/submit). Only views and job ids are ever in the address, never the token.

import { api, ApiError, onUnauthorized, token } from "./api.js";
import { hideJob, showJob } from "./job.js";
import { hideJobs, showJobs } from "./jobs.js";
import { refreshResources, showInstance, watchStatus } from "./status.js";
import { onSubmitted, showSubmit } from "./submit.js";

const $ = (id) => document.getElementById(id);
const views = {
  signin: $("view-signin"),
  jobs: $("view-jobs"),
  job: $("view-job"),
  submit: $("view-submit"),
};
const nav = document.querySelector(".mainnav");
const statusbar = $("statusbar");
const signinForm = $("signin-form");
const tokenInput = $("token");
const signinError = $("signin-error");

let pendingNotice = null;

function parseRoute() {
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  const [first, ...rest] = hash.split("/");
  if (first === "jobs" && rest.length && rest[0]) return { view: "job", id: rest.join("/") };
  if (first === "submit") return { view: "submit" };
  return { view: "jobs" };
}

function activate(name) {
  for (const [key, section] of Object.entries(views)) section.hidden = key !== name;
  for (const link of nav.querySelectorAll("a")) {
    const here = link.dataset.nav === name || (name === "job" && link.dataset.nav === "jobs");
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function signedInChrome(on) {
  nav.hidden = !on;
  statusbar.hidden = !on;
}

function showSignin(text = "") {
  hideJobs();
  hideJob();
  signedInChrome(false);
  activate("signin");
  signinError.textContent = text;
  signinError.hidden = !text;
  tokenInput.setAttribute("aria-invalid", text ? "true" : "false");
  tokenInput.focus();
}

function route() {
  if (!token.get()) {
    showSignin();
    return;
  }
  signedInChrome(true);
  const { view, id } = parseRoute();
  if (view !== "jobs") hideJobs();
  if (view !== "job") hideJob();
  activate(view);
  if (view === "jobs") {
    showJobs(pendingNotice);
    pendingNotice = null;
    views.jobs.querySelector("h1").focus({ preventScroll: true });
  } else if (view === "job") {
    showJob(id);
    views.job.querySelector("h1").focus({ preventScroll: true });
  } else {
    showSubmit();
  }
  document.title = `${views[view].querySelector("h1").textContent.trim()} · flux-sidecar`;
}

function signedIn() {
  showInstance();
  refreshResources();
  route();
}

signinForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = tokenInput.value.trim();
  if (!value) {
    showSignin("Enter the token.");
    return;
  }
  token.set(value);
  try {
    await api("api/v1/info");
  } catch (error) {
    token.clear();
    const text =
      error instanceof ApiError && error.status === 401
        ? "The sidecar did not accept this token."
        : `Cannot sign in: ${error.message}.`;
    showSignin(text);
    return;
  }
  tokenInput.value = "";
  signinError.hidden = true;
  signedIn();
});

$("sign-out").addEventListener("click", () => {
  token.clear();
  showSignin();
});

onUnauthorized(() => {
  if (!token.get()) return;
  token.clear();
  showSignin("The sidecar no longer accepts your token (it may have been rotated). Sign in again.");
});

onSubmitted((notice) => {
  pendingNotice = notice;
  location.hash = "#/jobs";
});

window.addEventListener("hashchange", route);
watchStatus(new AbortController().signal, () => Boolean(token.get()));
if (token.get()) signedIn();
else route();
