#!/usr/bin/env node
// Drives the dashboard served over https:// by a hub that wants an eater
// token, for t/52-dashboard-secure.t.
//
//   node secure.js URL HOSTNAME
//
// Opens URL (which carries ?token=...) trusting any certificate, as a
// user who accepted the hub's throwaway certificate would. Prints
// "connected" once the page's WebSocket (wss://, with the token) is open,
// then waits until the DNS feed shows HOSTNAME and prints one JSON line:
// {connection, dns, text, wsUrls, errors} where text is everything the page
// shows and wsUrls the WebSocket addresses it opened.
'use strict';

const { chromium } = require('playwright-core');

const [url, hostname] = process.argv.slice(2);

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update'],
  });
  const report = { errors: [], wsUrls: [] };
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.on('pageerror', (e) => report.errors.push(String(e)));
    page.on('websocket', (ws) => report.wsUrls.push(ws.url()));
    await page.goto(url);
    await page.waitForSelector('body[data-connection="open"]', { timeout: 20000 });
    console.log('connected');
    await page.waitForFunction(
      (name) => [...document.querySelectorAll('#dns-feed li')]
        .some((li) => li.dataset.hostname === name),
      hostname, { timeout: 60000 });
    Object.assign(report, await page.evaluate(() => ({
      connection: document.body.dataset.connection,
      dns: [...document.querySelectorAll('#dns-feed li')].map((li) => li.dataset.hostname),
      text: document.body.innerText,
    })));
    console.log(JSON.stringify(report));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.log(JSON.stringify({ fatal: String(e && e.stack || e) }));
  process.exit(1);
});
