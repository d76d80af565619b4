// What the UI checks share: the running demo's URL and login, headless Debian Chromium,
// screenshots, and logging in through HA's login form.
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const here = path.dirname(fileURLToPath(import.meta.url));
const moduleDir = process.env.UI_CHECK_MODULES || path.join(here, "run", "ui-check");
const require = createRequire(path.join(moduleDir, "package.json"));
const { chromium } = require("playwright-core");

// demo/run/demo.json is written by a running demo: its URL (the port may not be 8123) and login.
let running = {};
try {
  running = JSON.parse(readFileSync(path.join(here, "run", "demo.json"), "utf8"));
} catch {}
export const url = (process.argv[2] || running.url || "http://127.0.0.1:8123").replace(/\/$/, "");
const user = process.env.DEMO_USER || running.username || "demo";
const password = process.env.DEMO_PASSWORD || running.password || "demo";
const outDir = process.env.SCREENS_DIR || path.join(here, "run", "screens");
mkdirSync(outDir, { recursive: true });

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export async function screenshot(page, name) {
  const file = path.join(outDir, `${name}.png`);
  await page.screenshot({ path: file });
  console.log(`screenshot ${file}`);
}

// Fills HA's login form; `beforeSubmit` runs with the form filled (check_ui shoots it).
export async function logIn(page, beforeSubmit = async () => {}) {
  await page.goto(url + "/");
  await page.getByRole("textbox", { name: "Username" }).fill(user);
  await page.getByRole("textbox", { name: "Password" }).fill(password);
  await beforeSubmit();
  await page.getByRole("button", { name: /log in/i }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/auth/"), { timeout: 30000 });
}

// The page's errors as `browser: ...` lines (a frontend that stays on "Loading..." says why
// here): console errors, uncaught exceptions, failed requests and HTTP errors.
// Brand icons are fetched from the internet through HA (404 offline): not reported.
export function watchConsole(page) {
  const say = (text) => console.log(`browser: ${text}`.slice(0, 400));
  let brand404 = false;
  page.on("console", (msg) => {
    const noise = brand404 && /Failed to load resource: .* 404/.test(msg.text());
    brand404 = false;
    if (noise) return;
    if (msg.type() === "error" || msg.type() === "warning") say(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => say(`page error: ${err.message}`));
  page.on("requestfailed", (req) => say(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  page.on("response", (resp) => {
    if (resp.status() === 404 && resp.url().includes("/api/brands/")) brand404 = true;
    else if (resp.status() >= 400) say(`HTTP ${resp.status()} ${resp.url()}`);
  });
}

export const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// The automation editor: add a Device trigger or action for the device `name`. HA 2026.10:
// "Add trigger" opens a dialog (By target / By type; Device under By type), the block's editor
// is a sidebar and its pickers are lists; 2025.4: a menu, the block inline, combo boxes.
export async function addDeviceBlock(page, kind, name) {
  const description =
    kind === "trigger" ? /hen something happens to a device/ : /(Do|Does) something on a device/;
  await page.getByRole("button", { name: new RegExp(`Add ${kind}`, "i") }).first().click();
  const byType = page.getByRole("button", { name: "By type" });
  await byType.or(page.getByText(description)).first().waitFor({ timeout: 15000 });
  if (await byType.count()) {
    await byType.first().click();
    await page.getByRole("button", { name: "Device", exact: true }).first().click();
  }
  await page.getByText(description).last().click();
  const picker = page.locator("ha-device-picker").last();
  await picker.click();
  // 2026.10: the list's own search box (typing elsewhere hits the frontend's shortcuts: "d"
  // opens the device search); 2025.4: the combo box has the focus.
  const search = picker.getByRole("textbox");
  const hasSearch = await search
    .first()
    .waitFor({ timeout: 3000 })
    .then(() => true)
    .catch(() => false);
  if (hasSearch) await search.first().fill(name);
  else await page.keyboard.type(name);
  await page
    .getByRole("option", { name: new RegExp(escape(name)) }) // 2025.4: a combo box
    .or(picker.getByText(name, { exact: true })) // 2026.10: the picker's own list
    .first()
    .click();
}

// Open a picker until `text` shows (it ignores clicks while it still loads its list).
export async function openPicker(page, picker, text) {
  for (let attempt = 1; ; attempt++) {
    await picker.click();
    try {
      await page.getByText(text).last().waitFor({ timeout: 5000 });
      return;
    } catch (err) {
      if (attempt === 4) throw err;
      await page.waitForTimeout(1000); // the next click opens it (or closes a stuck one)
    }
  }
}

// What the open picker lists (options, menu items or list items), from the accessibility tree.
export async function listed(page) {
  return (await page.locator("body").ariaSnapshot())
    .split("\n")
    .map((l) => l.match(/- (?:listitem|option|menuitem)(?: "([^"]*)")?:? ?(.*)$/))
    .filter(Boolean)
    .map((m) => (m[1] || m[2] || "").trim())
    .filter((t, i, all) => t && !/^(Trigger|Action) /.test(t) && all.indexOf(t) === i);
}
