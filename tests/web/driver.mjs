// Drives pages of the web client in Debian's chromium (playwright-core, no
// browser download) for tests/integration/test_web_browser.py: one JSON
// command a line on stdin, one JSON answer a line on stdout. The test
// keeps the server, the terminal client and the nc peer; this process only
// works the pages, as a person would (keyboard first).
import {chromium} from 'playwright-core';
import readline from 'node:readline';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // CHROMIUM_ARGS: more switches, space-separated (test_tls_web.py trusts
  // its test key with --ignore-certificate-errors-spki-list).
  args: ['--headless', '--no-sandbox',
         ...(process.env.CHROMIUM_ARGS || '').split(' ').filter(Boolean)],
});
const pages = new Map(); // name -> {page, context, cut, sockets}
const TIMEOUT = Number(process.env.WEB_TIMEOUT_MS || 10000);

// Records the notifications a page would show (headless shows none).
function fakeNotifications() {
  window.__notes = [];
  window.Notification = class {
    constructor(title, options) { window.__notes.push({title, body: options && options.body}); }
    static requestPermission() { return Promise.resolve('granted'); }
  };
  window.Notification.permission = 'default';
}

const ops = {
  async open({name, url, width, height, route = true}) {
    const context = await browser.newContext({viewport: {width, height}});
    await context.addInitScript(fakeNotifications);
    const page = await context.newPage();
    const p = {page, context, cut: false, sockets: [], errors: [], dialogs: 0};
    page.on('pageerror', (e) => p.errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') p.errors.push(m.text()); });
    page.on('dialog', (d) => { p.dialogs++; d.dismiss(); });
    // The page's WebSocket goes through here, so the test can cut it as a
    // network drop would: the server sees it close, the page reconnects.
    if (route) await page.routeWebSocket(/\/ws$/, (ws) => {
      if (p.cut) {
        ws.close();
        return;
      }
      const server = ws.connectToServer();
      p.sockets.push({ws, server});
    });
    pages.set(name, p);
    await page.goto(url);
    return {};
  },
  async login({name, pseudo, room}) {
    const {page} = pages.get(name);
    // The pseudo field has the focus (autofocus), but only once the page
    // has applied it, which can be after 'load': keys typed before are
    // lost (a pseudo "kim" arrived as "im").
    await page.locator('#pseudo:focus').waitFor({timeout: TIMEOUT});
    await page.keyboard.type(pseudo);
    if (room) {
      await page.keyboard.press('Tab');
      await page.keyboard.type(room);
    }
    await page.keyboard.press('Enter');
    await page.waitForSelector('#chat:not([hidden])', {timeout: TIMEOUT});
    return {};
  },
  async type({name, text}) {
    const {page} = pages.get(name);
    await page.focus('#text');
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
    return {};
  },
  // Locators, not waitForFunction: the page's CSP forbids the eval that
  // polling a function needs (which the test wants kept strict).
  async wait_text({name, text, selector}) {
    const {page} = pages.get(name);
    await page.locator(selector || '#log', {hasText: text}).first().waitFor({timeout: TIMEOUT});
    return {};
  },
  async text({name, selector}) {
    const {page} = pages.get(name);
    return {text: await page.textContent(selector || '#log')};
  },
  async count({name, selector}) {
    const {page} = pages.get(name);
    return {count: await page.locator(selector).count()};
  },
  async wait_count({name, selector, count}) {
    const {page} = pages.get(name);
    await page.locator(selector).nth(count - 1).waitFor({timeout: TIMEOUT});
    return {};
  },
  async eval({name, code}) {
    const {page} = pages.get(name);
    return {value: await page.evaluate(code)};
  },
  async upload({name, path}) {
    const {page} = pages.get(name);
    await page.setInputFiles('#file', path);
    return {};
  },
  async press({name, key}) {
    await pages.get(name).page.keyboard.press(key);
    return {};
  },
  async click({name, selector}) {
    await pages.get(name).page.click(selector);
    return {};
  },
  async cut({name}) {
    const p = pages.get(name);
    p.cut = true;
    for (const {ws, server} of p.sockets.splice(0)) {
      await server.close();
      await ws.close();
    }
    return {};
  },
  async restore({name}) {
    pages.get(name).cut = false;
    return {};
  },
  async box({name, selector}) {
    const {page} = pages.get(name);
    const box = await page.locator(selector).boundingBox();
    const scroll = await page.evaluate(() => ({
      width: document.documentElement.scrollWidth, inner: window.innerWidth}));
    return {box, scroll};
  },
  async screenshot({name, path}) {
    await pages.get(name).page.screenshot({path, fullPage: false});
    return {};
  },
  async errors({name}) {
    const p = pages.get(name);
    return {errors: p.errors, dialogs: p.dialogs};
  },
  async quit() {
    await browser.close();
    return {};
  },
};

const input = readline.createInterface({input: process.stdin});
for await (const lineIn of input) {
  let answer;
  try {
    const cmd = JSON.parse(lineIn);
    answer = {ok: true, ...(await ops[cmd.op](cmd))};
  } catch (e) {
    answer = {ok: false, error: String(e && e.stack || e)};
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
  if (lineIn.includes('"quit"')) break;
}
process.exit(0);
