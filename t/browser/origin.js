#!/usr/bin/env node
// Opens a page and reports what became of the WebSocket it opens, for
// t/53-dashboard-origin.t.
//
//   node origin.js URL
//
// The page (t/browser/foreign/index.html) opens a WebSocket to the address
// in its ?ws= parameter and sets body[data-result] to "open" or "refused";
// this prints one JSON line: {result, origin} or {fatal}.
'use strict';

const { chromium } = require('playwright-core');

const [url] = process.argv.slice(2);

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector('body[data-result]', { state: 'attached', timeout: 20000 });
    console.log(JSON.stringify(await page.evaluate(() => ({
      result: document.body.dataset.result,
      origin: location.origin,
    }))));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.log(JSON.stringify({ fatal: String(e && e.stack || e) }));
  process.exit(1);
});
