// The browser half of `make ui-test` (demo/ui_test.py starts HA, Mosquitto and the simulated
// device, then runs this). Headless Debian Chromium on Home Assistant's real frontend, as a new
// user: log in; the device under "Discovered"; add it; "Add sensor" -> pH, only ADC1 pins
// offered, a value appears; calibrate two points; "Add actuator" -> pump; the automation editor
// lists our trigger and action for the device; German strings after the profile language is
// German. One `ok: <step>` or `MISSING: <step>` line per step. For the calibration it asks
// demo/ui_test.py to put the simulated probe into a buffer (`sim: ph <gpio> <pH>`, answered
// with `done` on stdin). Screenshots: demo/run/screens/ui-*.png.
import { readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import {
  addDeviceBlock,
  escape,
  here,
  launch,
  listed,
  logIn,
  openPicker,
  screenshot,
  url,
  watchConsole,
} from "./ui_session.mjs";

const context = JSON.parse(readFileSync(process.env.UI_TEST_CONTEXT, "utf8"));
const ESP = context.esp_id;
const BOARD = "esp32dev";
const boards = JSON.parse(
  readFileSync(
    path.join(here, "..", "custom_components", "automationone", "gpio", "boards.json"),
    "utf8",
  ),
);
const pins = boards.boards?.[BOARD]?.pins ?? boards[BOARD]?.pins;
const adc1 = new Set(
  Object.entries(pins)
    .filter(([, p]) => p.adc1 !== null && p.adc1 !== undefined)
    .map(([gpio]) => String(gpio)),
);

// --- the driver's side channel: the simulated probe -----------------------------------------
const stdin = createInterface({ input: process.stdin });
const replies = [];
let waiting = null;
stdin.on("line", (line) => {
  if (waiting) {
    const resolve = waiting;
    waiting = null;
    resolve(line);
  } else replies.push(line);
});
const simPh = (gpio, ph) =>
  new Promise((resolve) => {
    if (process.env.UI_TEST_NO_SIM) return resolve("skipped"); // run by hand, no driver
    if (replies.length) return resolve(replies.shift());
    waiting = resolve;
    console.log(`sim: ph ${gpio} ${ph}`);
  });

const results = { ok: 0, missing: 0 };
const ok = (what) => {
  results.ok += 1;
  console.log(`ok: ${what}`);
};
const missing = (what, detail = "") => {
  results.missing += 1;
  console.log(`MISSING: ${what}${detail ? ` (${String(detail).split("\n")[0]})` : ""}`);
};

const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
watchConsole(page);
let shotNo = 0;
const shot = async (name) => {
  shotNo += 1;
  await screenshot(page, `ui-${String(shotNo).padStart(2, "0")}-${name}`).catch(() => {});
};

// A step: its failure is one MISSING line (with a screenshot), and the later steps still run
// where they can.
async function step(what, fn) {
  try {
    const detail = await fn();
    ok(detail ? `${what}: ${detail}` : what);
    return true;
  } catch (err) {
    missing(what, err);
    await shot(`missing-${what.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}`);
    return false;
  }
}

let token;
const api = async (method, p, body) => {
  const resp = await fetch(url + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!resp.ok) throw new Error(`${method} ${p}: HTTP ${resp.status} ${await resp.text()}`);
  return resp.json();
};
const until = async (what, fn, timeout = 30000) => {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
};

// The open flow dialog (config flow and subentry flow dialogs are the same element).
const dialog = () => page.locator("dialog-data-entry-flow");
const submit = async () => {
  await dialog().getByRole("button", { name: /^(Submit|Absenden|OK)$/i }).last().click();
};
// HA's select (2025.4: mwc-select with role option; 2026.10: a menu of menuitems): open it,
// return the option texts and the locator of its items.
async function openSelect(select, scope = page) {
  await select.click();
  const items = scope.getByRole("menuitem").or(scope.getByRole("option"));
  await items.first().waitFor({ timeout: 15000 });
  const options = (await items.allInnerTexts()).map((t) => t.trim()).filter(Boolean);
  return { options, items };
}
// The select labelled `label` in the flow form: pick the first option `choose` accepts.
async function pickInSelect(label, choose) {
  const select = dialog().locator("ha-select").filter({ hasText: label }).first();
  const { options, items } = await openSelect(select, dialog());
  const wanted = options.find(choose);
  if (wanted === undefined) throw new Error(`no option of ${options.join(", ")} fits`);
  await items.filter({ hasText: new RegExp(`^\\s*${escape(wanted)}\\s*$`) }).first().click();
  return { options, picked: wanted };
}

// What the profile page's language picker does: the frontend's language event, which stores
// the language in the user's profile (frontend user data) too.
const setLanguage = async (language) => {
  await page.evaluate(
    (detail) =>
      document
        .querySelector("home-assistant")
        .dispatchEvent(new CustomEvent("hass-language-select", { detail, bubbles: true, composed: true })),
    language,
  );
  await page.waitForTimeout(1500);
};

let entryId;
let deviceId;
let deviceName;
let sensorEntity;
let sensorGpio;
let pumpEntity;

try {
  // --- 1. log in --------------------------------------------------------------------------
  const loggedIn = await step("log in through the login form", async () => {
    await logIn(page);
    await page.waitForFunction(
      () => document.querySelector("home-assistant")?.hass?.auth?.data?.access_token,
      null,
      { timeout: 30000 },
    );
    token = await page.evaluate(
      () => document.querySelector("home-assistant").hass.auth.data.access_token,
    );
    const config = await api("GET", "/api/config");
    return `Home Assistant ${config.version}`;
  });
  if (!loggedIn) throw new Error("not logged in: nothing else can be checked");
  if (process.env.UI_TEST_NO_SIM) await setLanguage("en"); // by hand: an earlier run's German
  await shot("logged-in");

  // --- 2. the device under Discovered, add it -----------------------------------------------
  await step(`${ESP} under "Discovered"`, async () => {
    await page.goto(url + "/config/integrations/dashboard");
    await page.getByText("Discovered").first().waitFor({ timeout: 30000 });
    const card = page.locator("ha-config-flow-card").filter({ hasText: ESP });
    await card.first().waitFor({ timeout: 60000 });
    await shot("discovered");
  });
  await step(`add ${ESP}`, async () => {
    const card = page.locator("ha-config-flow-card").filter({ hasText: ESP }).first();
    await card.getByRole("button", { name: /^Add$/i }).click();
    await dialog().getByText(/Add AutomationOne ESP32/).first().waitFor({ timeout: 20000 });
    await shot("confirm");
    await submit();
    const entry = await until("the config entry", async () =>
      (await api("GET", "/api/config/config_entries/entry?domain=automationone")).find(
        (e) => e.state === "loaded",
      ),
    );
    entryId = entry.entry_id;
    // The success step (area picker) closes with Finish.
    await shot("added");
    await page.getByRole("button", { name: /finish/i }).first().click({ timeout: 10000 });
    return entry.title;
  });

  // The integration page; 2026.10 has "Add sensor"/"Add actuator" buttons in its header,
  // 2025.4 has them in the entry's menu.
  const integrationPage = async () => {
    await page.goto(url + "/config/integrations/integration/automationone");
    await page
      .getByRole("button", { name: /Add sensor|Sensor hinzufügen/ })
      .or(page.getByRole("button", { name: "Menu" }))
      .first()
      .waitFor({ timeout: 30000 });
  };
  const openSubentryFlow = async (label) => {
    await integrationPage();
    const button = page.getByRole("button", { name: label });
    if (await button.count()) await button.first().click();
    else {
      await page.getByRole("button", { name: "Menu" }).first().click();
      await page.getByRole("menuitem", { name: label }).first().click();
    }
  };

  // --- 3. Add sensor -> pH on an ADC1 pin, a value appears ----------------------------------
  await step("Add sensor -> pH", async () => {
    await openSubentryFlow("Add sensor");
    await dialog().getByText("Add a sensor").first().waitFor({ timeout: 20000 });
    const { picked } = await pickInSelect(/Sensor type/, (t) => /\bpH\b/.test(t));
    await shot("sensor-type");
    await submit();
    return picked;
  });
  await step("only ADC1 pins offered for pH", async () => {
    await dialog().getByText(/Where is it connected/).first().waitFor({ timeout: 20000 });
    const { options, picked } = await pickInSelect(/GPIO pin/, (t) => adc1.has(t.replace(/\D/g, "")));
    const numbers = options.map((t) => t.match(/(\d+)\)?$/)?.[1] ?? t);
    const stray = numbers.filter((n) => !adc1.has(n));
    if (!options.length || stray.length) {
      throw new Error(`offered ${options.join(", ")}; not ADC1: ${stray.join(", ")}`);
    }
    sensorGpio = picked.match(/(\d+)\)?$/)[1];
    return `${options.join(", ")} (picked ${picked})`;
  });
  await step("the pH sensor is added and a value appears", async () => {
    const interval = dialog().getByRole("spinbutton", { name: /Sample interval/ });
    if (await interval.count()) await interval.first().fill("2");
    await shot("sensor-settings");
    await submit();
    await until("the flow to close", async () => (await dialog().count()) === 0, 15000).catch(
      async () => {
        await dialog().getByRole("button", { name: /^(Finish|Close|OK)$/i }).first().click();
      },
    );
    const reg = await until("the pH entity", async () => {
      const states = await api("GET", "/api/states");
      return states.find(
        (s) =>
          s.entity_id.startsWith("sensor.") &&
          /ph/i.test(s.entity_id) &&
          Number.isFinite(Number(s.state)),
      );
    }, 45000);
    sensorEntity = reg.entity_id;
    // ... and on the device page, as a user sees it.
    const devices = await api("GET", `/api/states/${sensorEntity}`);
    await page.goto(url + `/config/integrations/integration/automationone`);
    const device = page.locator("a[href*='/config/devices/device/']").first();
    await device.waitFor({ timeout: 20000 });
    deviceId = (await device.getAttribute("href")).split("/").pop();
    await page.goto(url + `/config/devices/device/${deviceId}`);
    deviceName = (await page.locator("hass-subpage, hass-tabs-subpage").first().getAttribute("header")) || ESP;
    const shown = Number(devices.state).toString();
    await until(
      "the value on the device page",
      async () => (await page.getByText(new RegExp(`${escape(shown.split(".")[0])}[.,]\\d`)).count()) > 0,
      20000,
    );
    await shot("sensor-value");
    return `${sensorEntity} = ${devices.state} ${devices.attributes.unit_of_measurement ?? ""}`;
  });

  // --- 4. calibration: two points -----------------------------------------------------------
  await step("calibration dialog captures two points", async () => {
    if (!sensorGpio) throw new Error("no pH sensor");
    await simPh(sensorGpio, 7.0);
    await page.waitForTimeout(2500);
    await integrationPage();
    const row = page.locator("ha-config-sub-entry-row, ha-config-entry-row").filter({ hasText: "pH" }).last();
    await row.getByRole("button", { name: /Reconfigure|Menu|More/i }).first().click();
    const reconfigure = page.getByRole("menuitem", { name: /Reconfigure/ });
    if (await reconfigure.count()) await reconfigure.first().click();
    await dialog().getByText("Calibrate").first().click({ timeout: 20000 });
    await dialog().getByText(/Live reading/).first().waitFor({ timeout: 20000 });
    await shot("calibrate-1");
    await dialog().getByRole("spinbutton", { name: /Reference value/ }).fill("7");
    await submit();
    await dialog().getByText("Capture another point").first().click({ timeout: 20000 });
    await simPh(sensorGpio, 4.0);
    await page.waitForTimeout(2500);
    await dialog().getByRole("spinbutton", { name: /Reference value/ }).fill("4");
    await submit();
    const captured = dialog().getByText(/Captured: .*7 ← .*, 4 ← /);
    await captured.first().waitFor({ timeout: 20000 });
    const text = (await captured.first().innerText()).trim();
    await shot("calibrate-2");
    await dialog().getByText("Save the calibration").first().click();
    await dialog()
      .getByText(/The sensor was updated|Reconfiguration was successful/)
      .first()
      .waitFor({ timeout: 20000 });
    await dialog().getByRole("button", { name: /^(Finish|Close|OK)$/i }).first().click().catch(() => {});
    return text;
  });

  // --- 5. Add actuator -> pump ---------------------------------------------------------------
  await step("Add actuator -> pump", async () => {
    await openSubentryFlow("Add actuator");
    await dialog().getByText("Add an actuator").first().waitFor({ timeout: 20000 });
    const radio = dialog().getByRole("radio", { name: /^Pump/ });
    if (await radio.count()) await radio.first().check(); // 2026.10: radio buttons
    else await pickInSelect(/Actuator type/, (t) => /^Pump/.test(t));
    await submit();
    await dialog().getByText(/which limits must the device enforce/).first().waitFor({ timeout: 20000 });
    const { picked } = await pickInSelect(/GPIO pin/, () => true);
    await shot("actuator-settings");
    await submit();
    const pump = await until("the pump entity", async () =>
      (await api("GET", "/api/states")).find(
        (s) => s.entity_id.startsWith("switch.") && /pump/i.test(s.entity_id),
      ),
    );
    pumpEntity = pump.entity_id;
    await dialog().getByRole("button", { name: /^(Finish|Close|OK)$/i }).first().click().catch(() => {});
    return `${pumpEntity} on GPIO ${picked}`;
  });

  // --- 6. the automation editor --------------------------------------------------------------
  await step("automation editor: our triggers for the device", async () => {
    await page.goto(url + "/config/automation/edit/new");
    await addDeviceBlock(page, "trigger", ESP);
    const picker = page.locator("ha-device-trigger-picker").last();
    await openPicker(page, picker, /pH crosses a value/);
    const offered = await until(
      "the trigger list",
      async () => {
        const items = await listed(page);
        if (items.some((t) => /pH crosses a value/.test(t))) return items;
        await picker.click();
        return undefined;
      },
      15000,
    ).catch(async () => listed(page));
    await shot("triggers");
    const ours = offered.filter((t) => / a value|quality became bad|went offline/.test(t));
    if (!ours.some((t) => /pH crosses a value/.test(t))) throw new Error(offered.join(" | "));
    await page.getByText(/pH crosses a value/).last().click();
    await page.getByRole("spinbutton", { name: /Hysteresis/ }).first().waitFor({ timeout: 10000 });
    return ours.join(" | ");
  });
  await step("automation editor: our actions for the device", async () => {
    await addDeviceBlock(page, "action", ESP);
    const picker = page.locator("ha-device-action-picker").last();
    await openPicker(page, picker, /Pump for a duration/);
    // The picker's field may show the text too: wait for the list itself.
    const offered = await until(
      "the action list",
      async () => {
        const items = await listed(page);
        if (items.some((t) => /Turn on .*Pump for a duration/.test(t))) return items;
        await picker.click();
        return undefined;
      },
      15000,
    ).catch(async () => listed(page));
    await shot("actions");
    const ours = offered.filter((t) => /Pump/.test(t));
    if (!ours.some((t) => /Turn on .*Pump for a duration/.test(t))) throw new Error(offered.join(" | "));
    await page.keyboard.press("Escape");
    return ours.join(" | ");
  });

  // --- 7. German -----------------------------------------------------------------------------
  await step("German UI (profile language de) shows German strings", async () => {
    await page.goto(url + "/profile/general");
    await page.waitForTimeout(1000);
    await setLanguage("de");
    await page.goto(url + "/config/integrations/integration/automationone");
    await page.getByText("Sensor hinzufügen").first().waitFor({ timeout: 30000 });
    await page.getByText("Aktor hinzufügen").first().waitFor({ timeout: 5000 });
    await shot("german");
    await page.goto(url + "/config/automation/edit/new");
    await page.getByRole("button", { name: /Auslöser hinzufügen/i }).first().click({ timeout: 30000 });
    await page.getByText(/Gerät/).first().waitFor({ timeout: 10000 });
    return "Sensor hinzufügen, Aktor hinzufügen, Auslöser hinzufügen";
  });
} catch (err) {
  missing("the browser steps", err);
  await shot("error");
} finally {
  await browser.close();
}
process.exit(results.missing ? 1 : 0);
