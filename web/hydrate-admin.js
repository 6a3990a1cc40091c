// The admin page's behaviour: talks to the admin API of the same origin with the bearer token
// kept in sessionStorage (this tab only), polls the selected job every 2 s and the history
// every 5 s. No framework, no third-party code.
"use strict";

const API = "/api/admin/hydrateAll";
const LEVELS = ["chapters", "topics", "notes", "questions"];
const $ = (id) => document.getElementById(id);
let selectedJob = null;

function token() { return sessionStorage.getItem("hydrateToken") || ""; }

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "";
}

// fetch on the API with the token; asks for the token again on 401.
async function api(method, path, body) {
  const options = { method, headers: { Authorization: "Bearer " + token() } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  } else if (method !== "GET") {
    options.body = "";  // serve wants a length on every POST
  }
  const response = await fetch(API + path, options);
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) {
    sessionStorage.removeItem("hydrateToken");
    showTokenForm();
    throw new Error("the token was refused; enter it again");
  }
  if (!response.ok) throw new Error(data.message || ("HTTP " + response.status));
  return data;
}

function showTokenForm() {
  $("token-section").hidden = false;
  $("token").focus();
}

function usd(value) { return value === null || value === undefined ? "none" : "$" + Number(value).toFixed(4); }

function age(iso) {
  if (!iso) return "";
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 90) return Math.round(seconds) + " s";
  if (seconds < 5400) return Math.round(seconds / 60) + " min";
  return Math.round(seconds / 3600) + " h";
}

function definitionList(element, pairs) {
  element.replaceChildren();
  for (const [term, value] of pairs) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    element.append(dt, dd);
  }
}

function request() {
  const form = $("trigger-form");
  const body = {
    language: form.language.value.trim(),
    boardCode: form.boardCode.value.trim(),
    grade: form.grade.value.trim(),
    subjectCode: form.subjectCode.value.trim(),
    options: { generateNotes: form.generateNotes.checked, generateQuestions: form.generateQuestions.checked },
  };
  if (form.budgetUsd.value !== "") body.budgetUsd = Number(form.budgetUsd.value);
  if (form.mode.value !== "") body.mode = form.mode.value;  // else the server's submit.mode
  return body;
}

async function estimate() {
  const body = request();
  body.options.dryRun = true;
  try {
    const e = (await api("POST", "", body)).estimates;
    $("estimate").hidden = false;
    definitionList($("estimate"), [
      ["Mode", e.mode], ["Chapters", e.totalChapters], ["Topics", e.estimatedTopics],
      ["Notes", e.estimatedNotes],
      ["Questions", e.estimatedQuestions], ["Cost", usd(e.estimatedCostUsd)],
      ["Worst case", usd(e.worstCaseCostUsd)], ["Duration", e.estimatedDurationMins + " min"],
      ["Basis", e.basis],
    ]);
    say("Estimated: " + usd(e.estimatedCostUsd));
  } catch (error) { say(error.message, true); }
}

async function submit(event) {
  event.preventDefault();
  try {
    const created = await api("POST", "", request());
    say((created.deduplicated ? "Already running: " : "Submitted: ") + created.rootJobId);
    select(created.rootJobId);
    refreshHistory();
  } catch (error) { say(error.message, true); }
}

function select(jobId) {
  selectedJob = jobId;
  $("job-section").hidden = false;
  refreshJob();
}

function renderJob(job) {
  $("job-id").textContent = job.jobId;
  $("job-status").textContent = job.status;
  $("job-reason").textContent = job.reason ? "(" + job.reason + ")" : "";
  $("job-mode").textContent = job.mode;
  const levels = $("levels");
  levels.replaceChildren();
  for (const name of LEVELS) {
    const level = job.progress.levels[name];
    const row = document.createElement("div");
    row.className = "level";
    const label = document.createElement("label");
    label.textContent = name;
    label.htmlFor = "bar-" + name;
    const bar = document.createElement("progress");
    bar.id = "bar-" + name;
    bar.max = Math.max(1, level.expected);
    bar.value = level.completed;
    const count = document.createElement("span");
    count.className = "count";
    count.dataset.level = name;
    count.textContent = level.completed + "/" + level.expected;
    row.append(label, bar, count);
    levels.append(row);
  }
  const costs = [
    ["Overall", job.progress.overall + "%"], ["Actual", usd(job.costs.actualUsd)],
    ["Estimated", usd(job.costs.estimatedUsd)], ["Budget", usd(job.costs.budgetUsd)],
  ];
  if (job.savings) {  // a batch-mode root: its calls' tokens at the online price
    costs.push(["Online price", usd(job.savings.onlineCostUsd)], ["Saved", usd(job.savings.savingUsd)]);
  }
  definitionList($("job-costs"), costs);
  const errors = $("job-errors");
  errors.replaceChildren();
  for (const e of job.errors || []) {
    const item = document.createElement("li");
    item.textContent = e.kind + " " + e.jobId + ": " + (e.error || e.lastTransientError);
    errors.append(item);
  }
  $("cancel-button").disabled = !["pending", "running"].includes(job.status);
}

async function refreshJob() {
  if (!selectedJob || !token()) return;
  try { renderJob(await api("GET", "/" + selectedJob)); } catch (error) { say(error.message, true); }
}

async function cancelJob() {
  try {
    renderJob(await api("DELETE", "/" + selectedJob + "?reason=" + encodeURIComponent("cancelled on the admin page")));
    say("Cancelled " + selectedJob);
    refreshHistory();
  } catch (error) { say(error.message, true); }
}

async function requeue(jobId) {
  try {
    const job = await api("POST", "/" + jobId + "/requeue");
    say("Requeued " + job.requeued + " step(s) of " + jobId);
    select(jobId);
    refreshHistory();
  } catch (error) { say(error.message, true); }
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

async function refreshHistory() {
  if (!token()) return;
  const status = $("history-filter").value;
  try {
    const page = await api("GET", "?limit=50" + (status ? "&status=" + status : ""));
    const rows = $("history-rows");
    rows.replaceChildren();
    for (const job of page.jobs) {
      const row = document.createElement("tr");
      row.dataset.job = job.jobId;
      const link = document.createElement("button");
      link.type = "button";
      link.textContent = job.jobId;
      link.addEventListener("click", () => select(job.jobId));
      cell(row, "").append(link);
      const slot = job.slot;
      cell(row, [slot.language, slot.board, slot.grade, slot.subject].join("/"));
      cell(row, job.mode).className = "mode";
      cell(row, job.status).className = "status";
      cell(row, job.progress.overall);
      cell(row, usd(job.costs.actualUsd));
      cell(row, age(job.createdAt));
      const actions = cell(row, "");
      if (job.status === "failed" || job.status === "cancelled") {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "Requeue";
        button.setAttribute("aria-label", "Requeue " + job.jobId);
        button.addEventListener("click", () => requeue(job.jobId));
        actions.append(button);
      }
      rows.append(row);
    }
  } catch (error) { say(error.message, true); }
}

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("hydrateToken", $("token").value);
    $("token").value = "";
    $("token-section").hidden = true;
    say("Token saved for this tab");
    refreshHistory();
  });
  $("estimate-button").addEventListener("click", estimate);
  $("trigger-form").addEventListener("submit", submit);
  $("cancel-button").addEventListener("click", cancelJob);
  $("history-filter").addEventListener("change", refreshHistory);
  if (!token()) showTokenForm();
  refreshHistory();
  setInterval(refreshJob, 2000);
  setInterval(refreshHistory, 5000);
});
