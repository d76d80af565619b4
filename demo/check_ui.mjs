// Look at a running `make demo` the way a new user would (not part of CI).
//
//   python -m demo.check_ui            # installs playwright-core and runs this script
//   node demo/check_ui.mjs [URL]       # if playwright-core is already in demo/run/ui-check
//
// Headless Debian Chromium (/usr/bin/chromium): log in through the login form as demo/demo,
// then screenshot the integrations dashboard (one AutomationOne device added, the others under
// "Discovered"), the AutomationOne integration page, its first device and the automation editor.
// Screenshots go to demo/run/screens/. Exit code 1 if an expected text is missing.
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const moduleDir = process.env.UI_CHECK_MODULES || path.join(here, "run", "ui-check");
const require = createRequire(path.join(moduleDir, "package.json"));
const { chromium } = require("playwright-core");

// demo/run/demo.json is written by a running demo: its URL (the port may not be 8123) and login.
let running = {};
try {
  running = JSON.parse(readFileSync(path.join(here, "run", "demo.json"), "utf8"));
} catch {}
const url = (process.argv[2] || running.url || "http://127.0.0.1:8123").replace(/\/$/, "");
const user = process.env.DEMO_USER || running.username || "demo";
const password = process.env.DEMO_PASSWORD || running.password || "demo";
const outDir = process.env.SCREENS_DIR || path.join(here, "run", "screens");
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
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
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const shot = async (name) => {
    const file = path.join(outDir, `${name}.png`);
    await page.screenshot({ path: file });
    console.log(`screenshot ${file}`);
  };
  const expectText = async (text, what) => {
    try {
      await page.getByText(text).first().waitFor({ timeout: 20000 });
      console.log(`ok: ${what}`);
    } catch {
      failures.push(what);
      console.log(`MISSING: ${what} (text ${text})`);
    }
  };

  await page.goto(url + "/");
  await page.getByRole("textbox", { name: "Username" }).fill(user);
  await page.getByRole("textbox", { name: "Password" }).fill(password);
  await shot("1-login");
  await page.getByRole("button", { name: /log in/i }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/auth/"), { timeout: 30000 });
  await expectText("Overview", "logged in (sidebar)");

  await page.goto(url + "/config/integrations/dashboard");
  await expectText("Discovered", "'Discovered' section on the integrations page");
  await expectText("AutomationOne", "AutomationOne on the integrations page");
  await page.waitForTimeout(1500);
  await shot("2-integrations");

  await page.goto(url + "/config/integrations/integration/automationone");
  await expectText("AutomationOne", "AutomationOne integration page");
  await page.waitForTimeout(1500);
  await shot("3-automationone");

  const device = page.locator("a[href*='/config/devices/device/']").first();
  try {
    await device.waitFor({ timeout: 10000 });
    await device.click();
    await expectText(/Restart/i, "device page with a restart button");
    await page.waitForTimeout(2000);
    await shot("4-device");
  } catch {
    console.log("no device link found on the integration page");
    failures.push("device page");
  }

  await page.goto(url + "/config/automation/edit/new");
  await expectText(/Add trigger/i, "automation editor");
  await page.waitForTimeout(1500);
  await shot("5-automation-editor");
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(`FAILED: ${failures.join(", ")}`);
  process.exit(1);
}
console.log("UI check passed");
