// Look at a running `make demo` the way a new user would (not part of CI).
//
//   python -m demo.check_ui            # installs playwright-core and runs this script
//   node demo/check_ui.mjs [URL]       # if playwright-core is already in demo/run/ui-check
//
// Headless Debian Chromium (/usr/bin/chromium): log in through the login form as demo/demo,
// then screenshot the integrations dashboard (one AutomationOne device added, the others under
// "Discovered"), the AutomationOne integration page, its first device and the automation editor.
// Screenshots go to demo/run/screens/. Exit code 1 if an expected text is missing.
import { launch, logIn, screenshot, url } from "./ui_session.mjs";

const browser = await launch();
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const shot = (name) => screenshot(page, name);
  const expectText = async (text, what) => {
    try {
      await page.getByText(text).first().waitFor({ timeout: 20000 });
      console.log(`ok: ${what}`);
    } catch {
      failures.push(what);
      console.log(`MISSING: ${what} (text ${text})`);
    }
  };

  await logIn(page, () => shot("1-login"));
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

  // 2025.4: links to the device pages; 2026.10: a row per device (ha-config-entry-device-row).
  const rows = page.getByRole("button", { name: / entities.*Edit device/ });
  const links = page.locator("a[href*='/config/devices/device/']");
  await rows.or(links).first().waitFor({ timeout: 10000 }).catch(() => {});
  const device = (await rows.count()) ? rows.first() : links.first();
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
