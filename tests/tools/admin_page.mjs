// The admin page in a real browser: Debian's headless Chromium driven by playwright-core.
// Enters the token, estimates in the server's default mode and in batch mode (half the cost),
// submits, starts a worker and watches every bar reach 100%, submits a second job in batch mode
// and sees its mode in the dashboard and the history, cancels it (no worker running, so it is
// still pending) and sees it cancelled, requeues a failed root from the history. Saves screenshots into SHOTS.
// Usage: node admin_page.mjs URL TOKEN SHOTS FAILED_ROOT  (HYDRATE_BIN, HYDRATE_DB and
// HYDRATE_LLM_URL in the environment, for the worker it starts).
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const [url, token, shots, failedRoot] = process.argv.slice(2);
if (!url || !token || !shots || !failedRoot) {
  console.error("usage: admin_page.mjs URL TOKEN SHOTS FAILED_ROOT");
  process.exit(2);
}
const step = (text) => console.log(`[admin_page] ${text}`);
const timeout = 120_000;

// A fresh profile each run (playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(
  mkdtempSync(path.join(tmpdir(), "hydrate-chromium-")), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 420, height: 900 },  // a phone
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
let worker = null;
try {
  const page = browser.pages()[0] ?? await browser.newPage();
  page.setDefaultTimeout(timeout);
  const failures = [];
  page.on("pageerror", (error) => failures.push(error.message));

  step("the page asks for the token once");
  await page.goto(`${url}/admin/content-engine/hydrateAll`);
  await page.getByLabel("Bearer token").fill(token);
  await page.getByRole("button", { name: "Use this token" }).click();
  await page.locator("#token-section").waitFor({ state: "hidden" });

  step("estimate shows the dry run");
  await page.getByRole("textbox", { name: "Grade", exact: true }).fill("2");
  await page.getByRole("textbox", { name: "Subject", exact: true }).fill("MATH");
  await page.getByRole("button", { name: "Estimate" }).click();
  await page.locator("#estimate dt", { hasText: "Chapters" }).waitFor();
  const chapters = Number(await page.locator("#estimate dt:text('Chapters') + dd").textContent());
  if (!(chapters > 0)) throw new Error(`the estimate shows ${chapters} chapters`);
  const estimated = async () => {
    const mode = await page.locator("#estimate dt:text('Mode') + dd").textContent();
    const cost = Number((await page.locator("#estimate dt:text('Cost') + dd").textContent()).slice(1));
    return { mode, cost };
  };
  const online = await estimated();
  if (online.mode !== "online") throw new Error(`the server's default estimate is ${online.mode}`);
  await page.screenshot({ path: `${shots}/1-estimate.png`, fullPage: true });

  step("the batch mode's estimate: the same tree at half the price");
  await page.getByLabel("Mode", { exact: true }).selectOption("batch");
  await page.getByRole("button", { name: "Estimate" }).click();
  await page.locator("#estimate dt:text('Mode') + dd", { hasText: "batch" }).waitFor();
  const batched = await estimated();
  if (!(batched.cost > 0 && Math.abs(batched.cost * 2 - online.cost) <= 0.0002)) {
    throw new Error(`the batch estimate $${batched.cost} is not half of the online $${online.cost}`);
  }
  await page.getByLabel("Mode", { exact: true }).selectOption("");  // the server's default again

  step("submit, then a worker: every bar reaches 100%");
  await page.getByRole("button", { name: "Submit" }).click();
  await page.locator("#job-id").filter({ hasText: /^[0-9A-Z]{26}$/ }).waitFor();
  const first = await page.locator("#job-id").textContent();
  worker = spawn(process.env.HYDRATE_BIN, ["-q", "work", "--until-idle", "--concurrency", "8"],
                 { stdio: "inherit" });
  await page.locator("#job-status", { hasText: "succeeded" }).waitFor();
  if ((await page.locator("#job-mode").textContent()) !== "online") {
    throw new Error(`the watched job shows mode ${await page.locator("#job-mode").textContent()}`);
  }
  for (const level of ["chapters", "topics", "notes", "questions"]) {
    const text = await page.locator(`.count[data-level=${level}]`).textContent();
    const [done, expected] = text.split("/").map(Number);
    if (!(expected > 0 && done === expected)) throw new Error(`${level} ends at ${text}`);
  }
  await page.screenshot({ path: `${shots}/2-succeeded.png`, fullPage: true });
  await new Promise((resolve) => worker.exitCode !== null ? resolve() : worker.on("exit", resolve));
  if (worker.exitCode !== 0) throw new Error(`the worker exited with ${worker.exitCode}`);
  worker = null;

  step("a second job, in batch mode, cancelled while pending");
  await page.getByRole("textbox", { name: "Subject", exact: true }).fill("SCIENCE");
  await page.getByLabel("Mode", { exact: true }).selectOption("batch");
  await page.getByRole("button", { name: "Submit" }).click();
  await page.locator("#job-id").filter({ hasNotText: first }).waitFor();
  await page.locator("#job-status", { hasText: "pending" }).waitFor();
  await page.locator("#job-mode", { hasText: "batch" }).waitFor();
  await page.locator("#job-costs dt", { hasText: "Saved" }).waitFor();  // a batch root's saving
  const second = await page.locator("#job-id").textContent();
  await page.locator(`#history-rows tr[data-job="${second}"] td.mode`, { hasText: "batch" }).waitFor();
  await page.locator(`#history-rows tr[data-job="${first}"] td.mode`, { hasText: "online" }).waitFor();
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.locator("#job-status", { hasText: "cancelled" }).waitFor();
  await page.screenshot({ path: `${shots}/3-cancelled.png`, fullPage: true });

  step("the history, filtered to failed roots: Requeue");
  await page.getByLabel("Status", { exact: true }).selectOption("failed");
  await page.locator(`#history-rows tr[data-job="${failedRoot}"]`).waitFor();
  await page.getByRole("button", { name: `Requeue ${failedRoot}` }).click();
  await page.locator("#message", { hasText: `of ${failedRoot}` }).waitFor();
  await page.locator("#job-id", { hasText: failedRoot }).waitFor();
  await page.locator("#job-status", { hasText: "running" }).waitFor();
  await page.screenshot({ path: `${shots}/4-requeued.png`, fullPage: true });

  if (failures.length) throw new Error(`errors in the page: ${failures.join("; ")}`);
  step("done");
} finally {
  if (worker && worker.exitCode === null) worker.kill("SIGTERM");
  await browser.close();
}
